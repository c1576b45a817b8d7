using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// testprogs/areas: thousands of small areas kept apart by their protections, some of them
/// unreadable with data in them, and mapped files whose names hold a newline or the characters
/// "\012" (how /proc/PID/maps writes a newline). The pages of many areas share one read job
/// when the image is written; each must still land in its own area.
/// </summary>
public class AreasTests
{
    private const int Count = 3000;

    [Fact]
    public void Every_area_comes_back_with_its_pages_and_protection_and_the_files_by_their_real_names()
    {
        using var dir = new TestDirectory("areas");
        string image = Checkpoints.Kill(dir, "areas", $"--count={Count}").Image;

        var areas = ImageItems.Of<MemoryArea>(image);
        Assert.True(areas.Count >= 2 * Count, $"{areas.Count} AREA items for {Count} two-page areas of two protections each");
        var paths = areas.Where(a => a.Kind is MemoryAreaKind.FileShared or MemoryAreaKind.FilePrivate)
            .Select(a => Encoding.UTF8.GetString(a.Path)).ToList();
        Assert.Contains(dir.OutFile + ".new\nline", paths);
        Assert.Contains(dir.OutFile + @".back\012slash", paths);

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Leave_running_with_many_areas_leaves_the_original_whole_and_the_copy_passes() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("areas-leave", "areas", $"--count={Count}"));
}
