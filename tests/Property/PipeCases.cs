using Cryo.Format;
using Cryo.Interop;
using Cryo.Tests.Golden.Support;
using Cryo.Tests.Property.Support;
using Xunit;

namespace Cryo.Tests.Property;

/// <summary>
/// The "done when" cases of issue 4 as explicit tests, each through checkpoint, kill and restore
/// with both strategies, plus what restore does with a FIFO node that is gone or replaced, a drain
/// that must be refused, and a process with no pipe at all.
/// </summary>
public class PipeCases
{
    private static PipeSpec Anon(int capacity, int length, Ends ends = Ends.Both) =>
        new(PipeSort.Anon, ends, capacity, length, null, false, 11, false, false, false, false);

    private static PipeSpec Fifo(int capacity, int length, Ends ends) =>
        new(PipeSort.Fifo, ends, capacity, length, null, true, 12, false, false, false, false);

    private static PipeSpec Packets(Ends ends, params int[] sizes) =>
        new(PipeSort.Anon, ends, 65536, 0, sizes, false, 13, true, false, false, false);

    public static TheoryData<PipeStrategy> Strategies => new() { PipeStrategy.Tee, PipeStrategy.Drain };

    [Theory]
    [MemberData(nameof(Strategies))]
    public void A_full_1MiB_pipe_survives_checkpoint_kill_and_restore(PipeStrategy strategy) =>
        PipeCycles.CheckpointKillRestore(new PipeSet([Anon(1 << 20, 1 << 20), Anon(1 << 20, 1 << 20, Ends.Read) with { WriteNonBlock = true }], strategy));

    [Theory]
    [MemberData(nameof(Strategies))]
    public void A_named_fifo_with_more_than_64KiB_unread_survives_checkpoint_kill_and_restore(PipeStrategy strategy) =>
        PipeCycles.CheckpointKillRestore(new PipeSet([Fifo(256 << 10, 200 << 10, Ends.Both), Fifo(1 << 20, 1 << 20, Ends.RdWr), Fifo(131072, 70000, Ends.Read)], strategy));

    [Theory]
    [MemberData(nameof(Strategies))]
    public void A_packet_mode_pipe_survives_checkpoint_kill_and_restore_with_its_boundaries(PipeStrategy strategy) =>
        PipeCycles.CheckpointKillRestore(new PipeSet([Packets(Ends.Both, 1, 777, 4096, 5, 4096, 1), Packets(Ends.Write, 100, 200), Packets(Ends.Both)], strategy));

    [Fact]
    public void Packets_whose_writer_is_gone_survive_with_tee_and_a_drain_refuses_them_consuming_nothing()
    {
        // A lone packet too: it is told from a stream (a short read of it drops the rest).
        var set = new PipeSet([Packets(Ends.Read, 9), Packets(Ends.Read, 3000, 1, 4096), Anon(65536, 5000)], PipeStrategy.Drain);
        PipeCycles.CheckpointKillRestore(set); // checks the refusal, then that the original still has everything
        PipeCycles.CheckpointKillRestore(set with { Strategy = PipeStrategy.Tee });
    }

    /// <summary>
    /// Restore with the FIFO node deleted: cryo recreates it with mkfifo and the recorded
    /// permission bits and warns; the program (which checks fstat(fd) = stat(path)) passes.
    /// </summary>
    [Fact]
    public void A_missing_fifo_node_is_recreated_with_a_warning()
    {
        using var dir = new TestDirectory("fifo-missing");
        var set = new PipeSet([Fifo(65536, 3000, Ends.Both), Fifo(65536, 65536, Ends.RdWr), Anon(4096, 100)], PipeStrategy.Tee);
        string image = dir.File("image.cryo");
        PipeLayout[] layout;
        using (var program = PipeSetProgram.Start(dir, set))
        {
            layout = program.Layout;
            program.MustCheckpoint(image, PipeStrategy.Tee, leaveRunning: false);
            program.Program.WaitForExit("checkpointed");
        }
        File.Delete(layout[0].Path);
        File.Delete(layout[1].Path);
        using var restored = RestoredProgram.Start(image, dir, $"case: {set}");
        var result = restored.Terminate();
        string describe = $"cryo said: {result.StandardError}\n{dir.Describe("restored pipeset")}";
        foreach (string path in new[] { layout[0].Path, layout[1].Path })
        {
            Assert.Contains($"(FIFO {path}): the FIFO node was missing and has been recreated with mode 0600", result.StandardError);
            var status = Native.TryStat(System.Text.Encoding.UTF8.GetBytes(path), out _);
            Assert.True(status is { Type: FileStatus.S_IFIFO } && (status.Value.Mode & 0xFFF) == 0x180, $"{path} was not recreated as a FIFO 0600. {describe}");
        }
        Assert.Equal(1, result.StandardError.Split('\n').Count(l => l.Contains(layout[0].Path, StringComparison.Ordinal))); // once per FIFO, not per descriptor
        var report = PipeReport.Read(dir.File("report"), dir.Verdict(), () => describe);
        PipeChecks.AssertReport(report, set, layout, "restored with recreated FIFO nodes", result.StandardError);
        Assert.True(result.ExitCode == 0, describe);
    }

    /// <summary>A FIFO path that now names something else is refused before any process runs.</summary>
    [Fact]
    public void A_fifo_path_that_is_no_longer_a_fifo_is_refused()
    {
        using var dir = new TestDirectory("fifo-replaced");
        var set = new PipeSet([Fifo(65536, 3000, Ends.Both)], PipeStrategy.Tee);
        string image = dir.File("image.cryo");
        PipeLayout[] layout;
        int pid;
        using (var program = PipeSetProgram.Start(dir, set))
        {
            (layout, pid) = (program.Layout, program.Pid);
            program.MustCheckpoint(image, PipeStrategy.Tee, leaveRunning: false);
            program.Program.WaitForExit("checkpointed");
        }
        File.Delete(layout[0].Path);
        File.WriteAllText(layout[0].Path, "not a fifo");
        using var restored = RestoredProgram.TryStart(image, dir, out var failed);
        Assert.True(restored is null, "the restore went ahead with a regular file in place of the FIFO");
        Assert.NotEqual(0, failed!.ExitCode);
        Assert.Contains($"(FIFO {layout[0].Path}): the path is no longer a FIFO", failed.StandardError);
        Assert.False(Directory.Exists($"/proc/{pid}") && File.ReadAllText($"/proc/{pid}/comm").Trim() == "pipeset", $"pid {pid} runs after a refused restore");
    }

    /// <summary>The seed crashed on a process without any FIFO: its image has no FIFO section, and it restores.</summary>
    [Fact]
    public void A_process_without_pipes_has_no_fifo_section_and_restores()
    {
        using var dir = new TestDirectory("nopipes");
        string image = dir.File("image.cryo");
        using (var program = RunningProgram.Start("sleep", dir))
        {
            CryoTool.Must(dir, "checkpoint", program.Pid.ToString(), "-o", image);
            program.WaitForExit("checkpointed");
        }
        var pipes = ImagePipes.Read(image);
        Assert.False(pipes.HasFifoSection, $"a FIFO section: {pipes.DescribeFifo()}");
        Assert.Empty(pipes.FifoItems);
        Assert.DoesNotContain(pipes.Descriptors, d => d.Kind is FileKind.Pipe or FileKind.Fifo);
        using var restored = RestoredProgram.Start(image, dir, "sleep");
        var result = restored.Terminate();
        Assert.True(result.ExitCode == 0 && dir.Verdict() == "PASS", $"exit {result.ExitCode}: {result.StandardError}\n{dir.Describe("restored sleep")}");
    }
}
