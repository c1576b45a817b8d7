using CliWrap;
using CliWrap.Buffered;

namespace Cryo.Tests.Golden.Support;

/// <summary>The C test programs of testprogs/, built once per test run with make, and its Python ones.</summary>
public static class TestPrograms
{
    private static readonly Lazy<string> BinDirectory = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Path(string name) => System.IO.Path.Combine(BinDirectory.Value, name);

    /// <summary>A Python test program of testprogs/py (run by python3: nothing to build).</summary>
    public static string Script(string name) => System.IO.Path.Combine(GoldenFile.RepoRoot(), "testprogs", "py", name);

    private static string Build()
    {
        string dir = System.IO.Path.Combine(GoldenFile.RepoRoot(), "testprogs");
        var result = CliWrap.Cli.Wrap("make").WithArguments(["-s", "-C", dir]).WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync().GetAwaiter().GetResult();
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"make -C {dir} failed ({result.ExitCode}):\n{result.StandardOutput}\n{result.StandardError}");
        return System.IO.Path.Combine(dir, "bin");
    }
}
