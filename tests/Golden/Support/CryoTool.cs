using CliWrap;
using CliWrap.Buffered;

namespace Cryo.Tests.Golden.Support;

/// <summary>Runs the built `cryo` and `cryo-dump` executables as separate processes, as a user would.</summary>
public static class CryoTool
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The apphost of a tool built next to the test assembly (the projects are referenced).</summary>
    public static string Executable(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"{name} was not built next to the tests", path);
        return path;
    }

    public static Command Cryo(params string[] args) =>
        CliWrap.Cli.Wrap(Executable("cryo")).WithArguments(args).WithValidation(CommandResultValidation.None);

    public static BufferedCommandResult Run(params string[] args)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return Cryo(args).ExecuteBufferedAsync(cts.Token).GetAwaiter().GetResult();
    }

    /// <summary>Runs cryo and fails with everything it printed, plus what the target said, if it did not exit 0.</summary>
    public static BufferedCommandResult Must(TestDirectory dir, params string[] args)
    {
        var result = Run(args);
        if (result.ExitCode != 0)
            throw new InvalidOperationException(
                $"cryo {string.Join(' ', args)} exited {result.ExitCode}\nstdout: {result.StandardOutput}\nstderr: {result.StandardError}\n{dir.Describe("target")}");
        return result;
    }

    public static BufferedCommandResult Dump(params string[] args)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return CliWrap.Cli.Wrap(Executable("cryo-dump")).WithArguments(args).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(cts.Token).GetAwaiter().GetResult();
    }
}
