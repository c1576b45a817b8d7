using Xunit;

namespace Cryo.Tests.Golden.Support;

/// <summary>A tmpfs of its own for one test (a small one to fill up, or to be sure an image is in memory); unmounted on Dispose.</summary>
public sealed class TmpfsMount : IDisposable
{
    public TmpfsMount(string path, string options)
    {
        Path = Directory.CreateDirectory(path).FullName;
        Run("mount", "-t", "tmpfs", "-o", options, "none", Path);
    }

    public string Path { get; }

    public void Dispose() => Run("umount", Path);

    internal static void Run(string program, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program, args) { RedirectStandardError = true };
        using var process = System.Diagnostics.Process.Start(start)!;
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)}: {error}");
    }
}
