using Cryo.Format;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Default signal actions that carry flags and a mask, with testprogs/sigdefault: SIGCHLD at
/// SIG_DFL with SA_NOCLDWAIT (the kernel reaps the children), SIGURG at SIG_DFL with flags and a
/// mask, and SIGWINCH reset to SIG_DFL by SA_RESETHAND. Only ignored and caught signals were
/// saved until an exploratory program found the restored parent piling up zombies.
/// </summary>
public class SignalActionTests
{
    [Fact]
    public void Default_actions_keep_their_flags_and_masks()
    {
        using var dir = new TestDirectory("sigdefault");
        string image = Checkpoints.Kill(dir, "sigdefault").Image;
        var actions = ImageItems.Of<SignalHandlers>(image).Single().Actions.ToDictionary(a => a.Signal);
        const ulong NoChildWait = 2, NoChildStop = 1; // SA_NOCLDWAIT, SA_NOCLDSTOP
        Assert.Equal(0UL, actions[17].Handler); // SIGCHLD: SIG_DFL
        Assert.Equal(NoChildWait | NoChildStop, actions[17].Flags & (NoChildWait | NoChildStop));
        Assert.Equal(1UL << 9, actions[17].Mask); // SIGUSR1
        Assert.Equal(0UL, actions[23].Handler); // SIGURG
        Assert.Equal(0UL, actions[28].Handler); // SIGWINCH, reset by SA_RESETHAND
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void Left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("sigdefault-leave", "sigdefault"));
}
