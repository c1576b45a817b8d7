using System.Text;
using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// A process in a chroot, with testprogs/chrooted: its root is the test directory, its working
/// directory a directory inside it, and it holds a file inside and one outside (its own
/// executable) by descriptor. Refused until an exploratory program asked for it: the restore
/// chroots the process (an injected chroot, after the chdir, before the credentials).
/// </summary>
public class ChrootTests
{
    [Fact]
    public void A_chrooted_process_comes_back_in_its_chroot()
    {
        using var dir = new TestDirectory("chrooted");
        string image = Checkpoints.Kill(dir, "chrooted").Image;
        var info = ImageItems.Of<ProcessInfo>(image).Single();
        // The root and the working directory as cryo sees them (from its own root).
        Assert.Equal(Path.GetFullPath(dir.Path), Encoding.UTF8.GetString(info.Root));
        Assert.Equal(Path.Combine(Path.GetFullPath(dir.Path), "jail", "etc"), Encoding.UTF8.GetString(info.Cwd));
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("chrooted-leave", "chrooted"));
}
