using CliWrap;
using CliWrap.Buffered;
using Cryo.Interop;

namespace Cryo.Tests.Golden.Support;

/// <summary>
/// A `cryo restore` running in the background: cryo stays the parent of the restored process and
/// exits with its exit status. Dispose kills the restored process (if it still runs) and waits for cryo.
/// </summary>
public sealed class Restored : IDisposable
{
    private readonly CommandTask<BufferedCommandResult> _cryo;
    private readonly CancellationTokenSource _timeout = new(CryoTool.Timeout);
    private readonly TestDirectory _dir;

    private Restored(CommandTask<BufferedCommandResult> cryo, TestDirectory dir, int pid)
    {
        _cryo = cryo;
        _dir = dir;
        Pid = pid;
    }

    public int Pid { get; }

    /// <summary>Starts `cryo restore` with <paramref name="options"/>, with <paramref name="environment"/> added to its environment if given, and waits for the restored pid.</summary>
    public static Restored Start(string image, TestDirectory dir, IReadOnlyDictionary<string, string?>? environment = null, params string[] options)
    {
        string pidFile = dir.File("restored.pid");
        File.Delete(pidFile);
        var timeout = new CancellationTokenSource(CryoTool.Timeout);
        var task = CryoTool.Cryo(["restore", image, "--pidfile", pidFile, "--log-file", dir.File("cryo-restore.log"), "-v", .. options])
            .WithEnvironmentVariables(environment ?? new Dictionary<string, string?>())
            .ExecuteBufferedAsync(timeout.Token);
        Wait.Until(() => File.Exists(pidFile) || task.Task.IsCompleted, RunningProgram.Timeout, "the restored pidfile",
            () => dir.Describe("restore"));
        if (!File.Exists(pidFile))
        {
            var result = task.Task.GetAwaiter().GetResult();
            throw new InvalidOperationException($"cryo restore {image} exited {result.ExitCode}: {result.StandardError}\n{dir.Describe("restore")}");
        }
        return new Restored(task, dir, int.Parse(File.ReadAllText(pidFile).Trim()));
    }

    /// <summary>Restores, sends SIGTERM, and returns the program's verdict (cryo must exit 0 with it).</summary>
    public static string RunToVerdict(string image, TestDirectory dir)
    {
        File.Delete(dir.OutFile);
        using var restored = Start(image, dir);
        Native.Kill(restored.Pid, Signals.SIGTERM);
        restored.WaitForCryo("after SIGTERM", expectSuccess: true);
        return dir.Verdict();
    }

    /// <summary>Waits for `cryo restore` to end (the restored process ended); checks its exit code if asked; returns what it printed.</summary>
    public BufferedCommandResult WaitForCryo(string why, bool expectSuccess)
    {
        var result = _cryo.Task.GetAwaiter().GetResult();
        if (expectSuccess && result.ExitCode != 0)
            throw new InvalidOperationException($"cryo restore exited {result.ExitCode} ({why}): {result.StandardError}\n{_dir.Describe("restored")}");
        return result;
    }

    public void Dispose()
    {
        if (!_cryo.Task.IsCompleted) Native.Kill(Pid, Signals.SIGKILL);
        try { _cryo.Task.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _timeout.Dispose();
    }
}
