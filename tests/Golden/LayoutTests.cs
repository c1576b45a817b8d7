using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Xunit;

namespace Cryo.Tests.Golden;

/// <summary>
/// Memory advice (MADV) through real checkpoints and restores, with testprogs/layout: areas under
/// mlock, mlock2(MLOCK_ONFAULT) and each madvise the kernel keeps per area, a MAP_GROWSDOWN area,
/// and PR_SET_THP_DISABLE. The program checks its own smaps, VmLck and a fork (wipe-on-fork and
/// dont-fork) after the restore; the tests check what the image says. No golden item stream:
/// MADV_MERGEABLE is only there on kernels built with KSM.
/// </summary>
public class LayoutTests
{
    [Fact]
    public void Advice_is_saved_and_asked_for_again_after_the_restore()
    {
        using var dir = new TestDirectory("layout");
        string image = Checkpoints.Kill(dir, "layout").Image;

        var (advice, growsDown) = Read(image);
        Assert.Equal(ProcessMemoryFlags.ThpDisabled, advice.ProcessFlags);
        var kinds = advice.Areas.Select(a => a.Advice).ToList();
        foreach (var expected in new[]
                 {
                     AreaAdvice.Locked, AreaAdvice.Locked | AreaAdvice.LockOnFault, AreaAdvice.DontDump, AreaAdvice.DontFork,
                     AreaAdvice.WipeOnFork, AreaAdvice.HugePage, AreaAdvice.NoHugePage, AreaAdvice.Sequential, AreaAdvice.Random,
                 })
            Assert.Equal(1, kinds.Count(k => k == expected));
        Assert.All(kinds, k => Assert.Null(MemoryAdvice.Problem(k)));
        Assert.Equal(1, growsDown);
        // The guarded area's two guard pages: one GARD range where the kernel reports guards in pagemap (6.14+).
        var guards = ImageItems.Of<GuardRegions>(image);
        if (Environment.OSVersion.Version >= new Version(6, 14))
        {
            var range = Assert.Single(Assert.Single(guards).Ranges);
            Assert.Equal((ulong)(2 * Environment.SystemPageSize), range.End - range.Start);
        }
        else Assert.Empty(guards);

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>
    /// mlockall(MCL_FUTURE | MCL_ONFAULT), PR_SET_MEMORY_MERGE and PR_SET_MDWE: in the image where
    /// this kernel has them (MDWE 6.3+, merge 6.4+ with KSM), and set again by the restore (the
    /// program maps a page and finds it locked but not faulted in, asks prctl, and has a
    /// writable executable mmap refused).
    /// </summary>
    [Fact]
    public void Process_wide_memory_flags_are_saved_and_set_again()
    {
        using var dir = new TestDirectory("layout-flags");
        string image = Checkpoints.Kill(dir, "layout", "--process-flags").Image;

        var flags = Read(image).Advice.ProcessFlags;
        Assert.Null(MemoryAdvice.ProcessProblem(flags));
        var always = ProcessMemoryFlags.ThpDisabled | ProcessMemoryFlags.LockFuture | ProcessMemoryFlags.LockFutureOnFault;
        Assert.Equal(always, flags & always);
        Assert.Equal(Native.Prctl(InjectedCalls.PR_GET_MDWE, 0, 0, 0, 0) >= 0, flags.HasFlag(ProcessMemoryFlags.RefuseExecGain));
        Assert.Equal(Native.Prctl(InjectedCalls.PR_GET_MEMORY_MERGE, 0, 0, 0, 0) >= 0, flags.HasFlag(ProcessMemoryFlags.MergeAll));

        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    /// <summary>A restored process's advice is read again like the original's.</summary>
    [Fact]
    public void Advice_survives_three_cycles_in_a_row() =>
        Assert.Equal("PASS", CheckpointRestoreTests.Cycles("layout-cycles", 3, "layout"));

    /// <summary>
    /// Reading the advice (smaps) changes nothing, and the fork snapshot of --leave-running reads
    /// the dont-fork and wipe-on-fork areas while the process is frozen: the original passes, and
    /// so does the copy restored from the image.
    /// </summary>
    [Fact]
    public void Leave_running_leaves_the_advice_of_the_original_and_the_copy_passes() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("layout-leave", "layout"));

    /// <summary>
    /// testprogs/mmapbase runs without address randomization (ADDR_NO_RANDOMIZE), top-down and
    /// with the legacy bottom-up layout (ADDR_COMPAT_LAYOUT): its next mmap must land where it
    /// would have before the checkpoint. The restored process keeps the mmap base and direction
    /// its stub's exec chose, so the stub is exec'd with those personality flags.
    /// </summary>
    [Theory]
    [InlineData("mmapbase")]
    [InlineData("mmapbase", "--legacy")]
    public void Without_randomization_the_next_mmap_lands_where_it_would_have(string program, params string[] args)
    {
        using var dir = new TestDirectory($"mmapbase{string.Concat(args)}");
        string image = Checkpoints.Kill(dir, program, args).Image;
        uint personality = ImageItems.Of<ProcessInfo>(image).Single().Personality;
        Assert.Equal(args.Length == 0 ? 0x0040000u : 0x0240000u, personality & 0x0240000u);
        Assert.Equal("PASS", Restored.RunToVerdict(image, dir));
    }

    [Fact]
    public void The_legacy_layout_left_running_the_original_and_the_copy_pass() =>
        Assert.Equal(("PASS", "PASS"), Checkpoints.LeaveRunningThenRestore("mmapbase-leave", "mmapbase", "--legacy"));

    /// <summary>The image's MADV item, and how many anonymous private areas are MAP_GROWSDOWN.</summary>
    private static (MemoryAdvice Advice, int GrowsDown) Read(string image)
    {
        MemoryAdvice? advice = null;
        int growsDown = 0;
        using var reader = CheckpointReader.OpenFile(image);
        while (reader.GetNextItem() is { } item)
        {
            if (item is MemoryAdvice found) advice = found;
            if (item is MemoryArea { Kind: MemoryAreaKind.AnonymousPrivate } area && (area.MapFlags & MemoryArea.MapGrowsDown) != 0) growsDown++;
        }
        return (advice ?? throw new InvalidDataException($"{image} has no MADV item"), growsDown);
    }
}
