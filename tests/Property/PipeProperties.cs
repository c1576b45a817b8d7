using Cryo.Tests.Golden.Support;
using Cryo.Tests.Property.Support;
using Xunit;
using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Cryo.Tests.Property;

/// <summary>
/// The pipe and FIFO properties of issue 4 over generated pipe sets (1–16 pipes, capacities 4 KiB
/// to 1 MiB, contents from empty to full, random or patterned, O_NONBLOCK and FD_CLOEXEC on
/// either end, packet mode, anonymous or named, which ends are held, tee or drain), on real
/// kernel pipes through testprogs/pipeset and the real `cryo` executable. Each case is a fresh
/// process; a failing case shrinks to a minimal one (<see cref="PipeGenerators"/>).
/// </summary>
public class PipeProperties(ITestOutputHelper output)
{
    /// <summary>
    /// P1: after `checkpoint --leave-running` every live pipe yields exactly its original bytes
    /// (nothing lost, duplicated or reordered; packets kept), with its capacity, slot use and flags
    /// unchanged and its ends connected. A drain the engine cannot write back is refused first.
    /// </summary>
    [Fact]
    public void P1_leave_running_leaves_every_pipe_exactly_as_it_was() =>
        PropertyRuns.Run(output, "P1", PipeGenerators.Sets, 25, set =>
        {
            using var dir = new TestDirectory("p1");
            using var program = PipeSetProgram.Start(dir, set);
            string image = dir.File("image.cryo");
            var result = program.Checkpoint(image, set.Strategy, leaveRunning: true);
            if (set.Strategy == PipeStrategy.Drain && set.DrainRefuses)
                PipeChecks.AssertDrainRefused(result, image, program.Pid, program.Describe);
            else if (result.ExitCode != 0)
                throw new PipePropertyException($"cryo checkpoint exited {result.ExitCode}: {result.StandardError}\n{program.Describe()}");
            if (program.Program.HasExited()) throw new PipePropertyException($"the original died\n{program.Describe()}");
            PipeChecks.AssertReport(program.Terminate(), set, program.Layout, "after checkpoint --leave-running", result.StandardError);
        }, PropertyRuns.Classify);

    /// <summary>P2: the file's descriptors and FIFO items hold exactly the pipes' bytes, lengths, packets, capacities and flags.</summary>
    [Fact]
    public void P2_the_fifo_items_hold_exactly_the_bytes_of_every_pipe() =>
        PropertyRuns.Run(output, "P2", PipeGenerators.Sets, 25, set =>
        {
            using var dir = new TestDirectory("p2");
            using var program = PipeSetProgram.Start(dir, set);
            string image = dir.File("image.cryo");
            var strategy = set.DrainRefuses ? PipeStrategy.Tee : set.Strategy;
            program.MustCheckpoint(image, strategy, leaveRunning: true);
            PipeChecks.AssertImage(ImagePipes.Read(image), set, program.Layout, $"the image ({strategy})", program.Describe);
        }, s => $"{(s.DrainRefuses ? PipeStrategy.Tee : s.Strategy)}".ToLowerInvariant());

    /// <summary>
    /// P3: after checkpoint, kill and restore every pipe yields exactly those bytes (packets
    /// kept), has the same capacity, slot use and flags, its two ends are still connected, an end
    /// no process holds is still missing (EOF, EPIPE), and cryo warns about nothing.
    /// </summary>
    [Fact]
    public void P3_after_restore_every_pipe_is_exactly_as_it_was() =>
        PropertyRuns.Run(output, "P3", PipeGenerators.Sets, 35, set => PipeCycles.CheckpointKillRestore(set), PropertyRuns.Classify);

    /// <summary>
    /// P4: tee and drain write identical FIFO items for the same process (dumped twice with
    /// --leave-running, in the generated order, so the pipe ids, being inodes, are the same too).
    /// </summary>
    [Fact]
    public void P4_tee_and_drain_write_identical_fifo_items() =>
        PropertyRuns.Run(output, "P4", PipeGenerators.Sets, 25, set =>
        {
            using var dir = new TestDirectory("p4");
            using var program = PipeSetProgram.Start(dir, set);
            string teeImage = dir.File("tee.cryo"), drainImage = dir.File("drain.cryo");
            // The generated strategy goes first: a drain before a tee must leave nothing for the tee to notice.
            var order = set.Strategy == PipeStrategy.Drain ? new[] { PipeStrategy.Drain, PipeStrategy.Tee } : [PipeStrategy.Tee, PipeStrategy.Drain];
            foreach (var strategy in order)
            {
                string image = strategy == PipeStrategy.Tee ? teeImage : drainImage;
                var result = program.Checkpoint(image, strategy, leaveRunning: true);
                if (strategy == PipeStrategy.Drain && set.DrainRefuses) PipeChecks.AssertDrainRefused(result, image, program.Pid, program.Describe);
                else if (result.ExitCode != 0)
                    throw new PipePropertyException($"cryo checkpoint ({strategy}) exited {result.ExitCode}: {result.StandardError}\n{program.Describe()}");
            }
            var tee = ImagePipes.Read(teeImage);
            PipeChecks.AssertImage(tee, set, program.Layout, "the tee image", program.Describe);
            if (!set.DrainRefuses) PipeChecks.AssertSameFifoItems(tee, ImagePipes.Read(drainImage), program.Describe);
            PipeChecks.AssertReport(program.Terminate(), set, program.Layout, "after both checkpoints", "");
        }, s => s.DrainRefuses ? "drain refused" : $"{s.Strategy} first".ToLowerInvariant());

    /// <summary>
    /// P5: a writer blocked on a full pipe at checkpoint time is restored blocked in the same
    /// write() and completes it once the pipe is read: the reader gets the pipe's bytes and then
    /// exactly the written ones, the write returns its full count in one call, and every other
    /// pipe of the process is exact (P3).
    /// </summary>
    [Fact]
    public void P5_a_writer_blocked_on_a_full_pipe_completes_its_write_after_restore() =>
        PropertyRuns.Run(output, "P5", PipeGenerators.BlockedSets, 16, b =>
        {
            var set = b.Set;
            using var dir = new TestDirectory("p5");
            string image = dir.File("image.cryo");
            var expected = b.Blocked.Stream(0, b.Blocked.Capacity + b.Extra);
            PipeLayout[] layout;
            using (var program = PipeSetProgram.Start(dir, set, $"{b.BlockedIndex}:{b.Extra}"))
            {
                layout = program.Layout;
                string Describe() => $"case: {b}\n{program.Program.Describe()}";
                PipeCycles.WaitUntilBlockedInWrite(program.Pid, Describe);
                var result = program.Checkpoint(image, set.Strategy, leaveRunning: false);
                if (set.Strategy == PipeStrategy.Drain && set.DrainRefuses)
                {
                    // Refused: the writer is still blocked in the original; unblock it and check everything there.
                    PipeChecks.AssertDrainRefused(result, image, program.Pid, Describe);
                    PipeCycles.ReadFromProcess(program.Pid, layout[b.BlockedIndex].ReadFd, expected, Describe);
                    PipeChecks.AssertReport(program.Terminate(), set, layout, "after a refused drain", result.StandardError, b.BlockedIndex, b.Extra);
                    return;
                }
                if (result.ExitCode != 0) throw new PipePropertyException($"cryo checkpoint exited {result.ExitCode}: {result.StandardError}\n{Describe()}");
                program.Program.WaitForExit("cryo checkpoint kills it");
            }
            var imagePipes = ImagePipes.Read(image);
            string Restored() => $"case: {b}\n{dir.Describe("restored pipeset")}";
            PipeChecks.AssertImage(imagePipes, set, layout, "the image", Restored, b.BlockedIndex);
            using var restored = RestoredProgram.Start(image, dir, $"case: {b}");
            PipeCycles.ReadFromProcess(restored.Pid, layout[b.BlockedIndex].ReadFd, expected, Restored);
            File.Delete(dir.File("report"));
            var end = restored.Terminate();
            var report = PipeReport.Read(dir.File("report"), dir.Verdict(), Restored);
            PipeChecks.AssertReport(report, set, layout, "after restore and reading the blocked pipe", end.StandardError, b.BlockedIndex, b.Extra);
            if (end.ExitCode != 0) throw new PipePropertyException($"cryo restore exited {end.ExitCode}: {end.StandardError}\n{Restored()}");
        }, b => $"{b.Set.Strategy}{(b.Blocked.Sort == PipeSort.Fifo ? " fifo" : " anon")}".ToLowerInvariant());
}
