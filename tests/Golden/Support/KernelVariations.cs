using System.Text.RegularExpressions;

namespace Cryo.Tests.Golden.Support;

/// <summary>What a golden item stream looks like on the kernel the tests run on, where kernels differ.</summary>
public static partial class KernelVariations
{
    /// <summary>
    /// <paramref name="golden"/> as this kernel writes it. Linux 6.7+ makes MAP_STACK mappings
    /// VM_NOHUGEPAGE (glibc maps thread stacks with MAP_STACK), so there a threaded program's image
    /// has a MADV item that lists its stacks with advice 0x40 (MADV_NOHUGEPAGE); before 6.7 it has
    /// none. tests/matrix/guest-suite.py applies the same rule in the guests.
    /// </summary>
    public static string Expected(string golden) =>
        AtLeast(6, 7) ? golden : string.Join('\n', golden.Split('\n').Where(line => !IsStackAdviceOnly(line)));

    private static bool IsStackAdviceOnly(string line) =>
        line.StartsWith("  MADV ", StringComparison.Ordinal) && Advice().Matches(line).Select(m => m.Groups[1].Value).Distinct().SequenceEqual(["0x40"]);

    private static bool AtLeast(int major, int minor)
    {
        var release = Release().Match(File.ReadAllText("/proc/sys/kernel/osrelease"));
        return (int.Parse(release.Groups[1].Value), int.Parse(release.Groups[2].Value)).CompareTo((major, minor)) >= 0;
    }

    [GeneratedRegex(@"advice=(0x[0-9a-f]+)")]
    private static partial Regex Advice();

    [GeneratedRegex(@"^(\d+)\.(\d+)")]
    private static partial Regex Release();
}
