using System.Globalization;
using Xunit;

namespace Cryo.Tests.Golden.Support;

/// <summary>The checkpoints most tests begin with: of a test program started for it, killing it or leaving it running.</summary>
public static class Checkpoints
{
    /// <summary>Starts <paramref name="program"/> in <paramref name="dir"/>, checkpoints it (which kills it) and waits for its end; the image's path and the pid it had.</summary>
    public static (string Image, int Pid) Kill(TestDirectory dir, string program, params string[] args)
    {
        string image = dir.File("image.cryo");
        using var running = RunningProgram.Start(program, dir, args);
        CryoTool.Must(dir, "checkpoint", running.Pid.ToString(CultureInfo.InvariantCulture), "-o", image);
        running.WaitForExit("cryo checkpoint kills it by default");
        return (image, running.Pid);
    }

    /// <summary>
    /// Checkpoints <paramref name="program"/> with --leave-running; the original must run on and
    /// is then asked for its verdict, and the copy restored from the image for its own.
    /// </summary>
    public static (string Original, string Copy) LeaveRunningThenRestore(string name, string program, params string[] args)
    {
        using var dir = new TestDirectory(name);
        string image = dir.File("image.cryo");
        string original;
        using (var running = RunningProgram.Start(program, dir, args))
        {
            CryoTool.Must(dir, "checkpoint", running.Pid.ToString(CultureInfo.InvariantCulture), "-o", image, "--leave-running");
            Assert.False(running.HasExited(), $"the original died. {running.Describe()}");
            original = running.Terminate();
        }
        return (original, Restored.RunToVerdict(image, dir));
    }
}
