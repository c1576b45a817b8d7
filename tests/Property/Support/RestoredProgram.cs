using System.Globalization;
using System.Text;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;

namespace Cryo.Tests.Property.Support;

/// <summary>
/// `cryo restore IMAGE --pidfile F` in the background (cryo stays the restored process's parent and
/// exits with its status); what cryo printed is kept for assertions and failure messages. Dispose
/// kills the restored process if it still runs and waits for cryo, on every path.
/// </summary>
public sealed class RestoredProgram : IDisposable
{
    private readonly CommandTask<BufferedCommandResult> _cryo;
    private readonly CancellationTokenSource _forceful, _graceful;

    private RestoredProgram(CommandTask<BufferedCommandResult> cryo, CancellationTokenSource forceful, CancellationTokenSource graceful, int pid)
    {
        _cryo = cryo;
        _forceful = forceful;
        _graceful = graceful;
        Pid = pid;
    }

    public int Pid { get; }

    /// <summary>Starts the restore; null (with cryo's result in <paramref name="failed"/>) if cryo ended without a pidfile.</summary>
    public static RestoredProgram? TryStart(string image, TestDirectory dir, out BufferedCommandResult? failed)
    {
        string pidFile = dir.File("restored.pid");
        File.Delete(pidFile);
        // A hung cryo gets SIGINT first (it then kills what it created), SIGKILL 15 s later.
        var forceful = new CancellationTokenSource(CryoTool.Timeout + TimeSpan.FromSeconds(15));
        var graceful = new CancellationTokenSource(CryoTool.Timeout);
        var task = CryoTool.Cryo("restore", image, "--pidfile", pidFile, "--log-file", dir.File("cryo-restore.log"), "-v")
            .ExecuteBufferedAsync(Encoding.UTF8, Encoding.UTF8, forceful.Token, graceful.Token);
        try
        {
            Wait.Until(() => File.Exists(pidFile) || task.Task.IsCompleted, RunningProgram.Timeout, "the restored pidfile", () => dir.Describe("restore"));
        }
        catch
        {
            // cryo still runs without a pidfile: interrupt it, then report.
            graceful.Cancel();
            try { task.Task.GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
            forceful.Dispose();
            graceful.Dispose();
            throw;
        }
        if (!File.Exists(pidFile))
        {
            failed = task.Task.GetAwaiter().GetResult();
            forceful.Dispose();
            graceful.Dispose();
            return null;
        }
        failed = null;
        return new RestoredProgram(task, forceful, graceful, int.Parse(File.ReadAllText(pidFile).Trim(), CultureInfo.InvariantCulture));
    }

    public static RestoredProgram Start(string image, TestDirectory dir, string describe)
    {
        var restored = TryStart(image, dir, out var failed);
        return restored ?? throw new InvalidOperationException(
            $"cryo restore {image} exited {failed!.ExitCode}: {failed.StandardError}\n{describe}\n{dir.Describe("restore")}");
    }

    /// <summary>SIGTERM to the restored program, then cryo's result (the program's exit status).</summary>
    public BufferedCommandResult Terminate()
    {
        Native.Kill(Pid, Signals.SIGTERM);
        return Finish();
    }

    /// <summary>Waits for cryo (that is, for the restored program to end).</summary>
    public BufferedCommandResult Finish() => _cryo.Task.GetAwaiter().GetResult();

    public void Dispose()
    {
        if (!_cryo.Task.IsCompleted) Native.Kill(Pid, Signals.SIGKILL);
        try { _cryo.Task.GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        _forceful.Dispose();
        _graceful.Dispose();
    }
}
