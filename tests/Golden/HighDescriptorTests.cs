using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Descriptors at the top of the open-files limit, with testprogs/highfds: a file at limit − 1, a
/// pipe's read end at limit − 2 and its write end at 5000, fd 0 closed. The restore needs a number
/// of its own in the process while it installs them (the pidfd that pidfd_getfd works through):
/// above them all it would be past the limit (EINVAL, found by an exploratory program), so it
/// takes a number the image leaves free.
/// </summary>
public class HighDescriptorTests
{
    [Fact]
    public void Descriptors_up_to_the_limit_come_back_at_their_numbers()
    {
        using var dir = new TestDirectory("highfds");
        string image = Checkpoints.Kill(dir, "highfds").Image;
        var numbers = ImageItems.Of<FileDescriptor>(image).Select(f => f.Fd).ToList();
        ulong limit = ImageItems.Of<ResourceLimits>(image).Single().Limits.Single(l => l.Resource == 7).Soft;
        Assert.Equal((int)limit - 1, numbers.Max());
        Assert.DoesNotContain(0, numbers);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("highfds-leave", "highfds"));
}
