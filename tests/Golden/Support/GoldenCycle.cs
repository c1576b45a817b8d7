namespace Cryo.Tests.Golden.Support;

/// <summary>The golden test of one program, shared by the test classes.</summary>
public static class GoldenCycle
{
    public static string Directory => Path.Combine(GoldenFile.RepoRoot(), "tests", "Golden");

    /// <summary>
    /// Starts the program, checkpoints it (which kills it), compares the image's normalised item
    /// stream with tests/Golden/NAME.verified.txt, restores it, and returns the program's verdict.
    /// </summary>
    public static string Run(string name, string[] args, Func<string, TestDirectory, int, string> normalize)
    {
        using var dir = new TestDirectory(name);
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start(name, dir, args))
        {
            CryoTool.Must(dir, "checkpoint", program.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", image);
            program.WaitForExit("cryo checkpoint kills it by default");
            GoldenFile.Verify(Directory, name, normalize(image, dir, program.Pid), KernelVariations.Expected);
        }
        return Restored.RunToVerdict(image, dir);
    }
}
