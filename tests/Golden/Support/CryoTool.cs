using CliWrap;
using CliWrap.Buffered;

namespace Cryo.Tests.Golden.Support;

/// <summary>Runs the built `cryo` and `cryo-dump` executables as separate processes, as a user would.</summary>
public static class CryoTool
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A directory holding other builds of `cryo` and `cryo-dump` to test instead of those next to
    /// the test assembly: the kernel matrix points it at the NativeAOT ones (tests/matrix/README.md).
    /// </summary>
    public const string BinDirVariable = "CRYO_BIN_DIR";

    /// <summary>The tool in $CRYO_BIN_DIR if set, else the apphost built next to the test assembly (the projects are referenced).</summary>
    public static string Executable(string name)
    {
        string? dir = Environment.GetEnvironmentVariable(BinDirVariable);
        string path = Path.Combine(string.IsNullOrEmpty(dir) ? AppContext.BaseDirectory : dir, name);
        if (!File.Exists(path))
            throw new FileNotFoundException(string.IsNullOrEmpty(dir) ? $"{name} was not built next to the tests" : $"no {name} in ${BinDirVariable} ({dir})", path);
        return path;
    }

    public static Command Cryo(params string[] args) =>
        CliWrap.Cli.Wrap(Executable("cryo")).WithArguments(args).WithValidation(CommandResultValidation.None);

    public static BufferedCommandResult Run(params string[] args)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return Cryo(args).ExecuteBufferedAsync(cts.Token).GetAwaiter().GetResult();
    }

    /// <summary>Runs cryo in a session of its own (setsid), which has no controlling terminal whatever terminal the tests run on.</summary>
    public static BufferedCommandResult RunWithoutTerminal(params string[] args)
    {
        using var cts = new CancellationTokenSource(Timeout);
        return CliWrap.Cli.Wrap("setsid").WithArguments(["--wait", Executable("cryo"), .. args]).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync(cts.Token).GetAwaiter().GetResult();
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
