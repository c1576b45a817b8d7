using Xunit;

namespace Cryo.Tests;

/// <summary>
/// Golden-file comparison in Verify's conventions (Verify.Xunit cannot be restored here):
/// <c>NAME.verified.txt</c> holds the accepted text; on a mismatch the actual text is written to
/// <c>NAME.received.txt</c> beside it and the test fails; with CRYO_ACCEPT=1 the received text
/// becomes the verified one.
/// </summary>
public static class GoldenFile
{
    public const string AcceptVariable = "CRYO_ACCEPT";

    public static bool Accepting => Environment.GetEnvironmentVariable(AcceptVariable) == "1";

    /// <summary>
    /// Compares <paramref name="actual"/> with the golden file, as <paramref name="onThisKernel"/>
    /// turns it into what this kernel writes (where kernels differ; the file holds the newest).
    /// </summary>
    public static void Verify(string directory, string name, string actual, Func<string, string>? onThisKernel = null)
    {
        string verified = Path.Combine(directory, name + ".verified.txt");
        string received = Path.Combine(directory, name + ".received.txt");
        actual = actual.Replace("\r\n", "\n");
        if (Accepting)
        {
            File.WriteAllText(verified, actual);
            File.Delete(received);
            return;
        }
        string? expected = File.Exists(verified) ? File.ReadAllText(verified) : null;
        if (expected is not null && onThisKernel is not null) expected = onThisKernel(expected);
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        File.WriteAllText(received, actual);
        Assert.Fail(expected is null
            ? $"no golden file {verified}; wrote {received}. Review it, then rerun with {AcceptVariable}=1 to accept."
            : $"{name} differs from {verified}; wrote {received}. First difference: {FirstDifference(expected, actual)}. " +
              $"Rerun with {AcceptVariable}=1 to accept an intended change.");
    }

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (int i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            string el = i < e.Length ? e[i] : "(end)", al = i < a.Length ? a[i] : "(end)";
            if (el != al) return $"line {i + 1}: expected '{el}', got '{al}'";
        }
        return "(none)";
    }

    /// <summary>The repository root: the folder holding Cryo.sln above the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Cryo.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Cryo.sln above {AppContext.BaseDirectory}");
    }
}
