using CliWrap;
using CliWrap.Buffered;

namespace Cryo.Tests.Engine.Support;

/// <summary>Compiles the C target once per test class (xunit class fixture) into a temp dir.</summary>
public sealed class TargetProgram : IDisposable
{
    public TargetProgram()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"cryo-engine-tests-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(Directory);
        string source = Path.Combine(Directory, "target.c");
        File.WriteAllText(source, TargetSource.Code);
        ExecutablePath = Path.Combine(Directory, "target");
        var result = CliWrap.Cli.Wrap("gcc")
            .WithArguments(["-O2", "-Wall", "-Werror", "-o", ExecutablePath, source])
            .WithValidation(CommandResultValidation.None)
            .ExecuteBufferedAsync().GetAwaiter().GetResult();
        if (result.ExitCode != 0)
        {
            // xunit does not dispose a fixture whose constructor threw.
            Dispose();
            throw new InvalidOperationException($"gcc failed ({result.ExitCode}):\n{result.StandardError}");
        }
    }

    public string Directory { get; }
    public string ExecutablePath { get; }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a still-running target's files; the OS cleans /tmp */ }
    }
}
