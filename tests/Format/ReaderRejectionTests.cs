using System.Buffers.Binary;
using System.Text;
using Cryo.Format;
using Xunit;

namespace Cryo.Tests.Format;

/// <summary>Each way a file can be wrong is rejected with the offset, the item and the reason.</summary>
public class ReaderRejectionTests
{
    private static ProcessInfo Process(int pid = 7) =>
        new(pid, 1, pid, pid, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "p"u8.ToArray(), [], [], []);

    private static CheckpointFormatException Rejects(byte[] file, params string[] reasonParts)
    {
        var ex = Assert.Throws<CheckpointFormatException>(() => RawCheckpoint.ReadAll(file));
        foreach (string part in reasonParts) Assert.Contains(part, ex.Message);
        return ex;
    }

    /// <summary>The payload <paramref name="item"/>'s encoder writes.</summary>
    private static byte[] Encoded(CheckpointItem item)
    {
        var w = new PayloadWriter();
        item.Encode(w);
        return w.Written.ToArray();
    }

    /// <summary>A file whose one process holds a critical <paramref name="tag"/> frame with <paramref name="payload"/> (in a thread if asked).</summary>
    private static byte[] InProcess(string tag, byte[] payload, bool inThread = false)
    {
        var file = new RawCheckpoint().Begin("PROC").Item(Process());
        if (inThread) file.Begin("THRD");
        file.Frame(tag, ItemFlags.Critical, payload);
        if (inThread) file.End("THRD");
        return file.End("PROC").Complete();
    }

    /// <summary>A copy of <paramref name="payload"/> with <paramref name="bytes"/> written at <paramref name="offset"/>.</summary>
    private static byte[] Patch(byte[] payload, int offset, params byte[] bytes)
    {
        byte[] copy = (byte[])payload.Clone();
        bytes.CopyTo(copy, offset);
        return copy;
    }

    [Fact]
    public void Unknown_optional_items_and_sections_are_skipped()
    {
        byte[] file = new RawCheckpoint()
            .Frame("NOTE", ItemFlags.None, "hello"u8.ToArray())
            .Begin("PROC").Item(Process())
            .Begin("ZZZZ", critical: false).Frame("QQQQ", ItemFlags.Critical, [1, 2, 3]).Begin("PROC").End("PROC").End("ZZZZ", critical: false)
            .End("PROC").Complete();
        var items = RawCheckpoint.ReadAll(file);
        Assert.Equal(["PROC", "PINF", "PROC"], items.Select(i => i.Tag.ToString()));
        Assert.IsType<SectionEnd>(items[^1]);

        var withUnknown = RawCheckpoint.ReadAll(file, returnUnknown: true);
        var note = Assert.IsType<UnknownItem>(withUnknown[0]);
        Assert.Equal("hello"u8.ToArray(), note.Payload.ToArray());
    }

    [Fact]
    public void The_extensions_sample_reads_with_its_optional_items_skipped()
    {
        var tags = RawCheckpoint.ReadAll(SampleFiles.Build("extensions")).Select(i => i.Tag.ToString()).ToList();
        Assert.DoesNotContain("NOTE", tags);
        Assert.DoesNotContain("XTRA", tags);
        Assert.Contains("PINF", tags);
    }

    [Fact]
    public void Unknown_critical_item_is_rejected() =>
        Rejects(new RawCheckpoint().Frame("ZZZZ", ItemFlags.Critical, []).Complete(), "unknown critical item 'ZZZZ'", "item #0");

    [Fact]
    public void Unknown_critical_section_is_rejected() =>
        Rejects(new RawCheckpoint().Begin("ZZZZ").End("ZZZZ").Complete(), "unknown critical section 'ZZZZ'");

    [Fact]
    public void Misplaced_items_are_rejected()
    {
        Rejects(new RawCheckpoint().Item(Process()).Complete(), "'PINF'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(Process()).End("FIFO").Complete(), "may not stand in section 'FIFO'");
        Rejects(new RawCheckpoint().Begin("THRD").End("THRD").Complete(), "'THRD'", "outside a section");
    }

    [Fact]
    public void Broken_sections_are_rejected()
    {
        Rejects(new RawCheckpoint().Begin("PROC").Complete(), "while section 'PROC' is open");
        Rejects(new RawCheckpoint().End("PROC").Complete(), "END PROC does not close", "none is open");
        Rejects(new RawCheckpoint().Begin("PROC").End("FIFO").Complete(), "END FIFO does not close");
        Rejects(new RawCheckpoint().Frame("PROC", ItemFlags.Critical | ItemFlags.SectionBegin, [1]).Complete(), "empty payload");
        Rejects(new RawCheckpoint().Frame("PINF", ItemFlags.Critical | ItemFlags.SectionBegin, []).Complete(), "is not a section");
    }

    [Fact]
    public void Frame_faults_are_rejected()
    {
        Rejects(new RawCheckpoint().Frame("NO\u0001E", ItemFlags.None, []).Complete(), "printable");
        Rejects(new RawCheckpoint().Frame("NOTE", (ItemFlags)0x80, []).Complete(), "undefined flag bits 0x80");
        Rejects(new RawCheckpoint().Frame("NOTE", ItemFlags.SectionBegin | ItemFlags.SectionEnd, []).Complete(), "both begin and end");
    }

    [Fact]
    public void Payload_faults_are_rejected_with_the_field_named()
    {
        var w = new PayloadWriter();
        Process().Encode(w);
        byte[] extra = [.. w.Written.ToArray(), 0];
        Rejects(new RawCheckpoint().Begin("PROC").Frame("PINF", ItemFlags.Critical, extra).End("PROC").Complete(), "1 unexpected bytes after the last field");
        Rejects(new RawCheckpoint().Begin("PROC").Frame("PINF", ItemFlags.Critical, w.Written[..14].ToArray()).End("PROC").Complete(), "field 'sid'");
        byte[] manyGroups = new byte[4 * 8 + 5 * 8 + 4 + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(manyGroups.AsSpan(manyGroups.Length - 4), 50_000);
        Rejects(new RawCheckpoint().Begin("PROC").Frame("CRED", ItemFlags.Critical, manyGroups).End("PROC").Complete(),
            "list 'groups' claims 50000 entries");
        Rejects(new RawCheckpoint().Begin("PROC").Frame("PAGE", ItemFlags.Critical, new byte[8 + 100]).End("PROC").Complete(),
            "not a whole number of 4096-byte pages");
    }

    [Fact]
    public void Interval_timers_round_trip_and_bad_fields_are_rejected()
    {
        var timer = new IntervalTimer(IntervalTimerKind.Profiling, 3, 250_000, 1000, 999_999);
        var read = RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(Process()).Item(timer).End("PROC").Complete());
        Assert.Equal(timer, Assert.IsType<IntervalTimer>(read[2]));

        byte[] payload = Encoded(timer);
        Assert.Equal(25, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("ITMR", Patch(payload, offset, bytes));
        Rejects(Patched(0, 3), "'ITMR'", "field 'which' has invalid value 3");
        Rejects(Patched(9, 0x40, 0x42, 0x0f, 0), "field 'interval_usec' has invalid value 1000000");
        Rejects(Patched(21, 0xff, 0xff, 0xff, 0xff), "field 'value_usec' has invalid value 4294967295");
        Rejects(InProcess("ITMR", payload[..24]), "field 'value_usec' needs 4 bytes");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Begin("THRD").Item(timer).End("THRD").End("PROC").Complete(),
            "'ITMR'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Thread_scheduling_round_trips_and_bad_fields_are_rejected()
    {
        var scheduling = new ThreadScheduling(SchedulingPolicy.Fifo, true, -5, 10, 123_456, [0, 0x8000_0000_0000_0001]);
        byte[] Thread(byte[] payload) => InProcess("SCHD", payload, inThread: true);
        var read = RawCheckpoint.ReadAll(Thread(Encoded(scheduling)));
        Assert.Null(ItemComparer.Difference(scheduling, Assert.IsType<ThreadScheduling>(read[3])));

        byte[] payload = Encoded(scheduling);
        Assert.Equal(19 + 2 * 8, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => Thread(Patch(payload, offset, bytes));
        Rejects(Patched(0, 6), "'SCHD'", "field 'policy' has invalid value 6"); // SCHED_DEADLINE
        Rejects(Patched(0, 4), "field 'policy' has invalid value 4");
        Rejects(Patched(1, 2), "field 'reset_on_fork' has invalid value 2");
        Rejects(Patched(2, 20, 0, 0, 0), "field 'nice' has invalid value 20");
        Rejects(Patched(2, 0xeb, 0xff, 0xff, 0xff), "field 'nice' has invalid value -21");
        Rejects(Patched(6, 0), "field 'rt_priority' has invalid value 0", "SCHED_FIFO takes a priority of 1 … 99");
        Rejects(Patched(6, 100), "field 'rt_priority' has invalid value 100");
        Rejects(Patched(0, 3), "field 'rt_priority' has invalid value 10", "SCHED_BATCH takes priority 0");
        Rejects(Patched(15, 0, 0, 0, 0), "field 'affinity.count' has invalid value 0");
        Rejects(Patched(15, 3, 0, 0, 0), "list 'affinity' claims 3 entries of 8 bytes but only 16 bytes remain");
        Rejects(Thread(Encoded(scheduling with { Affinity = [0, 0] })), "field 'affinity' has invalid value none", "at least one CPU");
        Rejects(Thread(Encoded(scheduling with { Affinity = [.. new ulong[ThreadScheduling.MaxAffinityWords], 1] })),
            "field 'affinity.count' has invalid value 129");
        Rejects(Thread(payload[..18]), "field 'affinity.count' needs 4 bytes");
        Rejects(Thread([.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Item(scheduling).End("PROC").Complete(),
            "'SCHD'", "may not stand in section 'PROC'");
    }

    [Fact]
    public void Oom_score_adjustments_round_trip_and_bad_values_are_rejected()
    {
        byte[] Process4(byte[] payload) => InProcess("OOMS", payload);
        var oom = new OomScoreAdjustment(-1000);
        Assert.Equal(oom, Assert.IsType<OomScoreAdjustment>(RawCheckpoint.ReadAll(
            new RawCheckpoint().Begin("PROC").Item(Process()).Item(oom).End("PROC").Complete())[2]));
        Rejects(Process4(BitConverter.GetBytes(1001)), "'OOMS'", "field 'oom_score_adj' has invalid value 1001");
        Rejects(Process4(BitConverter.GetBytes(-1001)), "field 'oom_score_adj' has invalid value -1001");
        Rejects(Process4([0, 0, 0]), "field 'oom_score_adj' needs 4 bytes");
        Rejects(Process4([0, 0, 0, 0, 0]), "1 unexpected bytes after the last field");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Begin("THRD").Item(oom).End("THRD").End("PROC").Complete(),
            "'OOMS'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void A_stopped_process_round_trips_and_unknown_states_are_rejected()
    {
        var stopped = Process() with { State = ProcessState.Stopped, ExitStatus = 0x137f };
        var read = RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(stopped).End("PROC").Complete());
        Assert.Equal((ProcessState.Stopped, 0x137f), (Assert.IsType<ProcessInfo>(read[1]).State, ((ProcessInfo)read[1]).ExitStatus));

        byte[] badState = Patch(Encoded(stopped), 16, 3);
        Rejects(new RawCheckpoint().Begin("PROC").Frame("PINF", ItemFlags.Critical, badState).End("PROC").Complete(),
            "'PINF'", "field 'state' has invalid value 3", "2 (stopped)");
    }

    [Fact]
    public void Io_priorities_round_trip_and_bad_fields_are_rejected()
    {
        var io = new IoPriority(IoPriorityClass.BestEffort, 5, 7);
        Assert.Equal(io, Assert.IsType<IoPriority>(RawCheckpoint.ReadAll(InProcess("IOPR", Encoded(io), inThread: true))[3]));
        Assert.Equal(IoPriority.FromValue(0x4004), new IoPriority(IoPriorityClass.BestEffort, 0, 4));
        Assert.Equal(IoPriority.FromValue(4), new IoPriority(IoPriorityClass.None, 0, 0)); // older kernels: class none, level 4
        Assert.Equal(0x402f, io.Value);

        byte[] payload = Encoded(io);
        Assert.Equal(4, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("IOPR", Patch(payload, offset, bytes), inThread: true);
        Rejects(Patched(0, 4), "'IOPR'", "field 'class' has invalid value 4");
        Rejects(Patched(1, 0x00, 0x04), "field 'hint' has invalid value 1024");
        Rejects(Patched(3, 8), "field 'level' has invalid value 8");
        Rejects(Patched(0, 0), "field 'level' has invalid value 7", "class none (0) has level and hint 0");
        Rejects(InProcess("IOPR", payload), "'IOPR'", "may not stand in section 'PROC'");
    }

    [Fact]
    public void File_locks_round_trip_and_bad_fields_are_rejected()
    {
        var held = new FileLock(4, FileLockKind.Posix, true, 10, 10);
        Assert.Equal(held, Assert.IsType<FileLock>(RawCheckpoint.ReadAll(InProcess("FLCK", Encoded(held)))[2]));

        byte[] payload = Encoded(held);
        Assert.Equal(22, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("FLCK", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'FLCK'", "field 'fd' has invalid value -1");
        Rejects(Patched(4, 3), "field 'kind' has invalid value 3");
        Rejects(Patched(5, 2), "field 'exclusive' has invalid value 2");
        Rejects(Patched(6, 0, 0, 0, 0, 0, 0, 0, 0x80), "field 'start' has invalid value 9223372036854775808");
        Rejects(Patched(14, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), "field 'length' has invalid value 9223372036854775807");
        Rejects(Patched(4, 0), "field 'start' has invalid value 10", "a flock lock covers the whole file");
        Rejects(InProcess("FLCK", payload, inThread: true), "'FLCK'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Eventfd_states_round_trip_and_bad_fields_are_rejected()
    {
        var counter = new EventCounter(5, EventCounter.MaxCount, EventCounter.Semaphore);
        Assert.True(counter.IsCritical);
        Assert.Equal(counter, Assert.IsType<EventCounter>(RawCheckpoint.ReadAll(InProcess("EVFD", Encoded(counter)))[2]));

        byte[] payload = Encoded(counter);
        Assert.Equal(16, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("EVFD", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'EVFD'", "field 'fd' has invalid value -1");
        Rejects(Patched(4, 0xff), "field 'count' has invalid value 18446744073709551615", "2^64 - 2");
        Rejects(Patched(12, 3), "field 'flags' has invalid value 3", "only bit 0");
        Rejects(InProcess("EVFD", payload[..15]), "field 'flags' needs 4 bytes");
        Rejects(InProcess("EVFD", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("EVFD", payload, inThread: true), "'EVFD'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Signalfd_masks_round_trip_and_bad_fields_are_rejected()
    {
        var accepts = new SignalQueueFile(6, ~SignalQueueFile.Unaccepted);
        Assert.True(accepts.IsCritical);
        Assert.Equal(accepts, Assert.IsType<SignalQueueFile>(RawCheckpoint.ReadAll(InProcess("SGFD", Encoded(accepts)))[2]));

        byte[] payload = Encoded(new SignalQueueFile(6, 1UL << 9)); // SIGUSR1 (10)
        Assert.Equal(12, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("SGFD", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'SGFD'", "field 'fd' has invalid value -1");
        Rejects(Patched(5, 0x03), "field 'mask' has invalid value 768", "SIGKILL"); // bit 8: SIGKILL (9)
        Rejects(Patched(6, 0x04), "field 'mask' has invalid value 262656", "SIGSTOP"); // bit 18: SIGSTOP (19)
        Rejects(InProcess("SGFD", payload[..11]), "field 'mask' needs 8 bytes");
        Rejects(InProcess("SGFD", payload, inThread: true), "'SGFD'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Timerfd_timers_round_trip_and_bad_fields_are_rejected()
    {
        var timer = new TimerFile(7, 8, TimerFile.Absolute | TimerFile.CancelOnSet, 3, 1_767_225_600_000_000_000, 250_000_000);
        Assert.True(timer.IsCritical);
        Assert.Equal(timer, Assert.IsType<TimerFile>(RawCheckpoint.ReadAll(InProcess("TMFD", Encoded(timer)))[2]));
        foreach (int clock in new[] { 0, 1, 7, 8, 9 })
            Assert.Equal(clock, Assert.IsType<TimerFile>(RawCheckpoint.ReadAll(InProcess("TMFD", Encoded(timer with { ClockId = clock })))[2]).ClockId);
        var disarmed = new TimerFile(7, 1, 0, 2, 0, 0); // fired once, one-shot, not read yet
        Assert.Equal(disarmed, Assert.IsType<TimerFile>(RawCheckpoint.ReadAll(InProcess("TMFD", Encoded(disarmed)))[2]));

        byte[] payload = Encoded(timer);
        Assert.Equal(36, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("TMFD", Patch(payload, offset, bytes));
        // fd 0, clock_id 4, flags 8, ticks 12, value_ns 20, interval_ns 28.
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'TMFD'", "field 'fd' has invalid value -1");
        Rejects(Patched(4, 2), "field 'clock_id' has invalid value 2", "0, 1, 7, 8 or 9"); // CLOCK_PROCESS_CPUTIME_ID
        Rejects(Patched(4, 0xff, 0xff, 0xff, 0xff), "field 'clock_id' has invalid value -1");
        Rejects(Patched(8, 7), "field 'flags' has invalid value 7", "only bits 0 (absolute) and 1");
        Rejects(Patched(8, 2), "field 'flags' has invalid value 2", "cancel on set needs an absolute timer");
        Rejects(Patched(20, 0, 0, 0, 0, 0, 0, 0, 0), "field 'interval_ns' has invalid value 250000000", "a disarmed timer");
        Rejects(InProcess("TMFD", payload[..35]), "field 'interval_ns' needs 8 bytes");
        Rejects(InProcess("TMFD", payload, inThread: true), "'TMFD'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Epoll_interest_lists_round_trip_and_bad_fields_are_rejected()
    {
        var epoll = new EventPollFile(5,
        [
            new EpollWatch(3, 0x8000_2039, 0x7fff_ffff_f000), // EPOLLET | EPOLLRDHUP | EPOLLNVAL | EPOLLHUP | EPOLLERR | EPOLLIN
            new EpollWatch(6, EventPollFile.ExclusiveCompatible, ulong.MaxValue), // EPOLLEXCLUSIVE with all it may go with
            new EpollWatch(int.MaxValue, EventPollFile.OneShot | 1u << 31, 0), // a fired EPOLLET | EPOLLONESHOT watch
        ]);
        Assert.True(epoll.IsCritical);
        var back = Assert.IsType<EventPollFile>(RawCheckpoint.ReadAll(InProcess("EPOL", Encoded(epoll)))[2]);
        Assert.Equal(epoll.Fd, back.Fd);
        Assert.Equal(epoll.Watches, back.Watches);
        var empty = Assert.IsType<EventPollFile>(RawCheckpoint.ReadAll(InProcess("EPOL", Encoded(new EventPollFile(0, []))))[2]);
        Assert.Empty(empty.Watches); // an epoll instance that watches nothing

        byte[] payload = Encoded(epoll);
        Assert.Equal(8 + 3 * 16, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("EPOL", Patch(payload, offset, bytes));
        // fd 0, watches.count 4; entry i at 8 + 16 i: target_fd, events (+4), data (+8).
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'EPOL'", "field 'fd' has invalid value -1");
        Rejects(Patched(8, 0xff, 0xff, 0xff, 0xff), "field 'target_fd' has invalid value -1", "not negative");
        Rejects(Patched(24, 3), "field 'target_fd' has invalid value 3", "ascend without repeats (the previous one is 3)");
        Rejects(Patched(24, 2), "field 'target_fd' has invalid value 2", "ascend without repeats (the previous one is 3)");
        Rejects(Patched(8, 5), "field 'target_fd' has invalid value 5", "cannot watch itself");
        Rejects(Patched(13, 0x28), "field 'events' has invalid value 0x80002839", "only bits 0xf00027ff");
        Rejects(Patched(12, 0x19, 0x20, 0, 0x10), "field 'events' has invalid value 0x10002019", "EPOLLEXCLUSIVE goes only with bits 0xb000001d");
        Rejects(Patched(12, 0x19, 0, 0, 0x50), "field 'events' has invalid value 0x50000019", "EPOLLEXCLUSIVE goes only with");
        Rejects(Patched(12, 0x21, 0x20, 0, 0x80), "field 'events' has invalid value 0x80002021", "adds EPOLLERR and EPOLLHUP");
        Rejects(Patched(44, 1), "field 'events' has invalid value 0xc0000001", "only a fired EPOLLONESHOT watch lacks them");
        Rejects(Patched(4, 4), "list 'watches' claims 4 entries of 16 bytes but only 48 bytes remain");
        Rejects(Patched(4, 0, 0, 2, 0), "list 'watches' claims 131072 entries, over the limit of 65536");
        Rejects(InProcess("EPOL", payload[..^1]), "list 'watches' claims 3 entries of 16 bytes but only 47 bytes remain");
        Rejects(InProcess("EPOL", payload[..6]), "field 'watches.count' needs 4 bytes");
        Rejects(InProcess("EPOL", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("EPOL", payload, inThread: true), "'EPOL'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Idle_epoll_marks_round_trip_and_bad_fields_are_rejected()
    {
        var idle = new EventPollIdle(5, [3, 6, int.MaxValue]);
        Assert.False(idle.IsCritical); // optional: a reader that does not know EPQT skips it
        var back = Assert.IsType<EventPollIdle>(RawCheckpoint.ReadAll(InProcess("EPQT", Encoded(idle)))[2]);
        Assert.Equal(idle.Fd, back.Fd);
        Assert.Equal(idle.ReportedEdges, back.ReportedEdges);
        // As writers write it (critical bit clear), and at the edges: fd 0 and 2^31 - 1, targets from 0 to 2^31 - 1, one entry
        // and several. An empty list, which writers do not write (it says nothing), the reader takes. A reader that knows the
        // tag decodes it whatever the bit says.
        var edges = new[]
        {
            idle, new EventPollIdle(0, [1]), new EventPollIdle(int.MaxValue, [0, int.MaxValue - 1]), new EventPollIdle(4, []),
            new EventPollIdle(0, [.. Enumerable.Range(1, 1000)]),
        };
        foreach (var edge in edges)
            Assert.Null(ItemComparer.Difference(edge, RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(Process()).Item(edge).End("PROC").Complete())[2]));

        byte[] payload = Encoded(idle);
        // fd, reported_edges.count, then each target_fd: 4 bytes each, little-endian (8 + 4 x entries).
        Assert.Equal([5, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 6, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f], payload);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("EPQT", Patch(payload, offset, bytes));
        // A bad value is reported just past its field (§8.1): the EPQT frame stands before END PROC (16 bytes) and the trailer
        // (28), and its payload 12 bytes into it.
        long payloadAt = InProcess("EPQT", payload).Length - 28 - 16 - (16 + payload.Length) + 12;
        var badFd = Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'EPQT'", "field 'fd' has invalid value -1", "not negative");
        Assert.Equal(payloadAt + 4, badFd.Offset);
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        // fd 0, reported_edges.count 4, entry i at 8 + 4 i: a negative target, a repeat, a descending one, the instance itself.
        var badTarget = Rejects(Patched(8, 0xff, 0xff, 0xff, 0xff), "'EPQT'", "field 'target_fd' has invalid value -1", "not negative");
        Assert.Equal(payloadAt + 12, badTarget.Offset);
        Rejects(Patched(12, 0, 0, 0, 0x80), "field 'target_fd' has invalid value -2147483648", "not negative");
        Rejects(Patched(12, 3), "field 'target_fd' has invalid value 3", "ascend without repeats (the previous one is 3)");
        Rejects(Patched(12, 2), "field 'target_fd' has invalid value 2", "ascend without repeats (the previous one is 3)");
        Rejects(Patched(16, 6, 0, 0, 0), "field 'target_fd' has invalid value 6", "ascend without repeats (the previous one is 6)");
        Rejects(Patched(8, 5), "field 'target_fd' has invalid value 5", "cannot watch itself");
        Rejects(InProcess("EPQT", Patch(Encoded(new EventPollIdle(int.MaxValue, [0])), 8, 0xff, 0xff, 0xff, 0x7f)),
            "field 'target_fd' has invalid value 2147483647", "cannot watch itself");
        // A count that claims more bytes than remain, or more entries than any list may have, is refused before an entry is read.
        var badCount = Rejects(Patched(4, 4), "list 'reported_edges' claims 4 entries of 4 bytes but only 12 bytes remain");
        Assert.Equal(payloadAt + 8, badCount.Offset);
        Rejects(Patched(4, 0, 0, 1, 0), "list 'reported_edges' claims 65536 entries of 4 bytes but only 12 bytes remain"); // at the limit
        Rejects(Patched(4, 0, 0, 2, 0), "list 'reported_edges' claims 131072 entries, over the limit of 65536");
        // Cut short, or with bytes after the last entry (a PIDF's 8 bytes and an EPOL's under EPQT's tag among them).
        Rejects(InProcess("EPQT", payload[..^1]), "list 'reported_edges' claims 3 entries of 4 bytes but only 11 bytes remain");
        Rejects(InProcess("EPQT", payload[..6]), "field 'reported_edges.count' needs 4 bytes but only 2 remain");
        Rejects(InProcess("EPQT", payload[..4]), "field 'reported_edges.count' needs 4 bytes but only 0 remain"); // the fd alone
        Rejects(InProcess("EPQT", payload[..3]), "field 'fd' needs 4 bytes but only 3 remain");
        Rejects(InProcess("EPQT", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("EPQT", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("EPQT", Encoded(new PidFd(5, 4243))), "list 'reported_edges' claims 4243 entries of 4 bytes but only 0 bytes remain");
        Rejects(InProcess("EPQT", Encoded(new EventPollFile(5, [new EpollWatch(3, 0x8000_0019, 0)]))), "12 unexpected bytes after the last field");
        // In the wrong place: placement holds for a known optional item too.
        Rejects(InProcess("EPQT", payload, inThread: true), "'EPQT'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(idle).Complete(), "'EPQT'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(idle).End("FIFO").Complete(), "'EPQT'", "may not stand in section 'FIFO'");
        // Checked the same with the critical bit clear.
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Frame("EPQT", ItemFlags.None, [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).End("PROC").Complete(),
            "'EPQT'", "field 'fd' has invalid value -1");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Frame("EPQT", ItemFlags.None, Patch(payload, 12, 1)).End("PROC").Complete(),
            "'EPQT'", "field 'target_fd' has invalid value 1", "ascend without repeats");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Frame("EPQT", ItemFlags.None, Patch(payload, 4, 9)).End("PROC").Complete(),
            "'EPQT'", "list 'reported_edges' claims 9 entries of 4 bytes but only 12 bytes remain");
        // Registered right after EPOL, in PROC only, as an item.
        var kind = Assert.IsType<ItemKind>(ItemKinds.Find(EventPollIdle.TagValue));
        Assert.Equal(("EPQT", "idle epoll", false), (kind.Tag.ToString(), kind.Name, kind.IsSection));
        Assert.Equal([ItemKinds.Process], kind.AllowedIn);
        var tags = ItemKinds.All.Select(k => k.Tag).ToList();
        Assert.Equal(tags.IndexOf(EventPollFile.TagValue) + 1, tags.IndexOf(EventPollIdle.TagValue));
        // A reader that does not know the tag (one written before EPQT was defined) skips the frame, since writers write it
        // with the critical bit clear: the same bytes under a tag this reader does not know are skipped after their EPOL (and
        // returned as an unknown item when asked for); with the bit set they would be rejected.
        byte[] Unknown(ItemFlags flags) => new RawCheckpoint().Begin("PROC").Item(Process())
            .Item(new EventPollFile(5, [new EpollWatch(3, 0x8000_0019, 0), new EpollWatch(6, 0x8000_0019, 0), new EpollWatch(int.MaxValue, 0x8000_0019, 0)]))
            .Frame("EPQZ", flags, payload).End("PROC").Complete();
        Assert.Equal(["PROC", "PINF", "EPOL", "PROC"], RawCheckpoint.ReadAll(Unknown(ItemFlags.None)).Select(i => i.Tag.ToString()));
        var skipped = Assert.IsType<UnknownItem>(RawCheckpoint.ReadAll(Unknown(ItemFlags.None), returnUnknown: true)[3]);
        Assert.Equal("EPQZ", skipped.Tag.ToString());
        Rejects(Unknown(ItemFlags.Critical), "unknown critical item 'EPQZ'", "item #3");
    }

    [Fact]
    public void Idle_epoll_marks_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of an epoll description in each process (kind 7, anon_inode:[eventpoll]), its EPOL,
        // the EPQT when the instance was idle and the file of an edge-triggered watch was ready (its edge reported), then the
        // descriptor's FOWN. A process (pid P) watches its eventfd (fd 3, ready) and its timerfd (fd 7, not ready: not listed)
        // through an idle instance at fd 4, edge-triggered (fd 5 a dup of it: neither EPOL nor EPQT), and its eventfd through
        // an instance at fd 6, level-triggered only (no EPQT); its child (P + 1) inherited fd 3, fd 4 and fd 7, with an EPOL
        // and an EPQT of its own after its first FDES of the description.
        byte[] Write(int pid)
        {
            FileDescriptor Anonymous(int fd, string path, ulong description) =>
                new(fd, FileKind.AnonInode, FileDescriptor.CloseOnExec, 0x2, 0, 0x180, 0xe, 1_000 + description, 0, description, 0, Encoding.ASCII.GetBytes(path));
            var edge = new EventPollFile(4,
            [
                new EpollWatch(3, 0x8000_0019 /* EPOLLET | EPOLLHUP | EPOLLERR | EPOLLIN */, 0xfeed),
                new EpollWatch(7, 0x8000_0019, 0x7),
            ]);
            var file = new MemoryStream();
            using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
            {
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process(pid));
                writer.Write(Anonymous(3, "anon_inode:[eventfd]", 1));
                writer.Write(new EventCounter(3, 1, 0));
                writer.Write(Anonymous(4, "anon_inode:[eventpoll]", 2));
                writer.Write(edge);
                writer.Write(new EventPollIdle(4, [3]));
                writer.Write(new FileOwner(4, FileOwnerKind.Process, pid, 0));
                writer.Write(Anonymous(5, "anon_inode:[eventpoll]", 2)); // a dup of 4
                writer.Write(Anonymous(6, "anon_inode:[eventpoll]", 3));
                writer.Write(new EventPollFile(6, [new EpollWatch(3, 0x19, 6)]));
                writer.Write(Anonymous(7, "anon_inode:[timerfd]", 4));
                writer.Write(new TimerFile(7, 1, 0, 0, 0, 0));
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(new ProcessInfo(pid + 1, pid, pid, pid, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "child"u8.ToArray(), [], [], []));
                writer.Write(Anonymous(3, "anon_inode:[eventfd]", 1));
                writer.Write(new EventCounter(3, 1, 0));
                writer.Write(Anonymous(4, "anon_inode:[eventpoll]", 2));
                writer.Write(edge);
                writer.Write(new EventPollIdle(4, [3]));
                writer.Write(Anonymous(7, "anon_inode:[timerfd]", 4));
                writer.Write(new TimerFile(7, 1, 0, 0, 0, 0));
                writer.EndSection(ItemKinds.Process);
                writer.Complete();
            }
            return file.ToArray();
        }
        byte[] bytes = Write(7);

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "EVFD", "FDES", "EPOL", "EPQT", "FOWN", "FDES", "FDES", "EPOL", "FDES", "TMFD", "PROC",
            "PROC", "PINF", "FDES", "EVFD", "FDES", "EPOL", "EPQT", "FDES", "TMFD", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Equal(["4: 3", "4: 3"], read.OfType<EventPollIdle>().Select(m => $"{m.Fd}: {string.Join(", ", m.ReportedEdges)}"));
        // What a consumer checks (§8.5, §11.1): each EPQT directly follows an EPOL of its fd, and lists only edge-triggered
        // watches of it that are not one-shot.
        for (int i = 0; i < read.Count; i++)
            if (read[i] is EventPollIdle mark)
            {
                var epoll = Assert.IsType<EventPollFile>(read[i - 1]);
                Assert.Equal(mark.Fd, epoll.Fd);
                Assert.NotEmpty(mark.ReportedEdges);
                Assert.All(mark.ReportedEdges, target => Assert.Contains(epoll.Watches,
                    w => w.TargetFd == target && (w.Events & 0x8000_0000) != 0 && (w.Events & EventPollFile.OneShot) == 0));
            }

        // The frame is written optional: flags 0; its payload 8 + 4 bytes (fd, count, one target).
        int at = bytes.AsSpan().IndexOf("EPQT"u8);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 4)));
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));

        // The tree: fd and each target as decimal numbers, the list as lists are printed.
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Matches(@"\n  EPQT @\d+ fd=4 reported_edges=\[\{target_fd=3\}\]\n  FOWN @", tree);

        // The JSON: the fd, a number, and the list, an array of objects with a number each; the frame not critical.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var item = document.RootElement.GetProperty("items")[6];
            Assert.Equal("EPQT", item.GetProperty("tag").GetString());
            Assert.Equal("item", item.GetProperty("frame").GetString());
            Assert.False(item.GetProperty("critical").GetBoolean());
            var fields = item.GetProperty("fields");
            Assert.Equal(["fd", "reported_edges"], fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal(4, fields.GetProperty("fd").GetInt32());
            var entry = Assert.Single(fields.GetProperty("reported_edges").EnumerateArray());
            Assert.Equal(["target_fd"], entry.EnumerateObject().Select(p => p.Name));
            Assert.Equal(3, entry.GetProperty("target_fd").GetInt32());
        }

        // The golden form prints it as it is, and another run of the same tree, with other pids, gives the same text.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], bytes);
        Assert.Contains("EPOL fd=4 watches=[{target_fd=3 events=0x80000019 data=0xfeed}, {target_fd=7 events=0x80000019 data=0x7}]\n"
            + "  EPQT fd=4 reported_edges=[{target_fd=3}]\n  FOWN fd=4 ", golden);
        Assert.Equal(2, golden.Split("EPQT fd=4 reported_edges=[{target_fd=3}]\n").Length - 1);
        Assert.Equal(golden, CryoDump.Run(["--normalize", "-"], Write(31_000)).Stdout);
    }

    /// <summary>tail -f's watch (IN_MODIFY), one with every bit fdinfo shows, one with every bit the reader takes at the highest wd.</summary>
    private static InotifyFile Watches(int fd = 4) => new(fd,
    [
        new InotifyWatch(1, 0x2, 0x803, 2222, "/srv/job/out.log"u8.ToArray()),
        new InotifyWatch(3, 0x8400_0fff, ulong.MaxValue, 0x7fff_ffff_ffff_ffff, Encoding.UTF8.GetBytes("/srv/job/\"a\\b\" \u00e9")),
        new InotifyWatch(int.MaxValue, InotifyFile.KnownMask, 0, 2, "/"u8.ToArray()),
    ]);

    [Fact]
    public void Inotify_watches_round_trip_and_bad_fields_are_rejected()
    {
        var inotify = Watches();
        Assert.True(inotify.IsCritical);
        Assert.Equal(0xf700_efffu, InotifyFile.KnownMask); // ALL_INOTIFY_BITS: what inotify_add_watch takes
        var back = Assert.IsType<InotifyFile>(RawCheckpoint.ReadAll(InProcess("INOT", Encoded(inotify)))[2]);
        Assert.Null(ItemComparer.Difference(inotify, back));
        Assert.Equal(inotify.Watches[1].Path, back.Watches[1].Path);
        var empty = Assert.IsType<InotifyFile>(RawCheckpoint.ReadAll(InProcess("INOT", Encoded(new InotifyFile(0, []))))[2]);
        Assert.Empty(empty.Watches); // an instance that watches nothing
        // The longest path, and a watch of a path with every byte value but NUL and '/'.
        byte[] longest = [(byte)'/', .. Enumerable.Repeat((byte)'a', FormatLimits.MaxBytesString - 1)];
        var edges = new InotifyFile(int.MaxValue, [new InotifyWatch(1, 0, 0, 0, longest),
            new InotifyWatch(2, 0x8000_0000, 1, 1, [(byte)'/', .. Enumerable.Range(1, 255).Where(b => b != '/').Select(b => (byte)b)])]);
        Assert.Null(ItemComparer.Difference(edges, RawCheckpoint.ReadAll(InProcess("INOT", Encoded(edges)))[2]));

        byte[] payload = Encoded(inotify);
        Assert.Equal(8 + 3 * 26 + 16 + 17 + 1, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("INOT", Patch(payload, offset, bytes));
        // fd 0, watches.count 4; the first entry at 8: wd 8, mask 12, device 16, inode 24, path.length 32, path 34; the second at 50.
        Assert.Equal("/srv/job/out.log"u8.ToArray(), payload[34..50]);
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'INOT'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(8, 0), "field 'wd' has invalid value 0", "positive");
        Rejects(Patched(8, 0xff, 0xff, 0xff, 0xff), "field 'wd' has invalid value -1", "positive");
        Rejects(Patched(8, 0, 0, 0, 0x80), "field 'wd' has invalid value -2147483648");
        Rejects(Patched(8, 3), "field 'wd' has invalid value 3", "ascend without repeats (the previous one is 3)"); // a repeat
        Rejects(Patched(8, 5), "field 'wd' has invalid value 3", "ascend without repeats (the previous one is 5)"); // descending
        Rejects(Patched(50, 0), "field 'wd' has invalid value 0", "(the previous one is 1)");
        Rejects(Patched(12, 0, 0x10), "field 'mask' has invalid value 0x1000", "bits 0x1000 are not inotify mask bits");
        Rejects(Patched(12, 2, 0, 0, 0x08), "field 'mask' has invalid value 0x8000002", "bits 0x8000000 are not"); // FS_EVENT_ON_CHILD, kernel-internal
        Rejects(Patched(54, 0xff, 0xff, 0xff, 0xff), "field 'mask' has invalid value 0xffffffff", "bits 0x8ff1000 are not");
        Rejects(Patched(34, (byte)'s'), "field 'path' has invalid value ssrv/job/out.log", "a watch's path is absolute");
        Rejects(InProcess("INOT", Encoded(new InotifyFile(4, [inotify.Watches[0] with { Path = "srv/job/out.log"u8.ToArray() }]))),
            "field 'path' has invalid value srv/job/out.log", "absolute");
        Rejects(InProcess("INOT", Encoded(new InotifyFile(4, [inotify.Watches[0] with { Path = [] }]))), "field 'path' has invalid value", "absolute");
        Rejects(Patched(32, 0x01, 0x10), "field 'path' is 4097 bytes long, over the limit of 4096");
        // Cut short. The count is checked first, at 26 bytes an entry (its fixed part): a cut in the last entry passes that
        // check (the paths before it hold more) and is found in the field it cuts; one further up is found by the check.
        // The last entry (wd 2^31 - 1) is at 93: wd 93, mask 97, device 101, inode 109, path.length 117, path 119.
        Rejects(InProcess("INOT", payload[..^1]), "field 'path' needs 1 bytes but only 0 remain");
        Rejects(InProcess("INOT", payload[..118]), "field 'path.length' needs 2 bytes but only 1 remain");
        Rejects(InProcess("INOT", payload[..105]), "field 'device' needs 8 bytes but only 4 remain");
        Rejects(InProcess("INOT", payload[..45]), "list 'watches' claims 3 entries of 26 bytes but only 37 bytes remain");
        Rejects(InProcess("INOT", payload[..6]), "field 'watches.count' needs 4 bytes");
        Rejects(InProcess("INOT", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(Patched(4, 5), $"list 'watches' claims 5 entries of 26 bytes but only {payload.Length - 8} bytes remain");
        Rejects(Patched(4, 4), "field 'wd' needs 4 bytes but only 0 remain"); // 4 × 26 bytes fit, the fourth entry does not
        Rejects(Patched(4, 0, 0, 2, 0), "list 'watches' claims 131072 entries, over the limit of 65536");
        Rejects(InProcess("INOT", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("INOT", payload, inThread: true), "'INOT'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(inotify).Complete(), "'INOT'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(inotify).End("FIFO").Complete(), "'INOT'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Inotify_descriptors_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of the description in each process (kind 7, anon_inode:inotify, no brackets), its
        // INOT, then its FOWN. A dup has none; a child that inherited the description has an INOT of its own, equal but for fd.
        var log = new FileDescriptor(1, FileKind.Regular, 0, 0x401, 1234, 0x81a4, 0x803, 2222, 0, 1, 0, "/srv/job/out.log"u8.ToArray());
        FileDescriptor Inotify(int fd) =>
            new(fd, FileKind.AnonInode, FileDescriptor.CloseOnExec, 0x800 /* O_RDONLY | O_NONBLOCK: inotify_init1(IN_NONBLOCK | IN_CLOEXEC) */, 0, 0x180, 0xe, 1031, 0, 2, 0,
                "anon_inode:inotify"u8.ToArray());
        var watches = Watches(fd: 3);
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(log);
            writer.Write(Inotify(3));
            writer.Write(watches);
            writer.Write(new FileOwner(3, FileOwnerKind.Process, 7, 0));
            writer.Write(Inotify(5)); // a dup of 3
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(Inotify(6));
            writer.Write(Watches(fd: 6));
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(file.ToArray());
        Assert.Equal(["PROC", "PINF", "FDES", "FDES", "INOT", "FOWN", "FDES", "PROC", "PROC", "PINF", "FDES", "INOT", "PROC"],
            read.Select(i => i.Tag.ToString()));
        Assert.Equal(FileKind.AnonInode, Assert.IsType<FileDescriptor>(read[3]).Kind);
        Assert.Null(ItemComparer.Difference(watches, read[4]));
        var child = Assert.IsType<InotifyFile>(read[11]);
        Assert.Equal(6, child.Fd);
        Assert.Null(ItemComparer.Difference(watches with { Fd = 6 }, child));

        var (code, tree, _) = CryoDump.Run(["-"], file.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("INOT @", tree);
        Assert.Contains("fd=3 kind=7 fd_flags=0x1 open_flags=0x800 offset=0 mode=0x180 device=14 inode=1031 rdev=0 description_id=2 pipe_id=0 path=\"anon_inode:inotify\"", tree);
        Assert.Contains("fd=3 watches=[{wd=1 mask=0x2 device=2051 inode=2222 path=\"/srv/job/out.log\"}, "
            + "{wd=3 mask=0x84000fff device=18446744073709551615 inode=9223372036854775807 path=\"/srv/job/\\x22a\\x5cb\\x22 \\xc3\\xa9\"}, "
            + "{wd=2147483647 mask=0xf700efff device=0 inode=2 path=\"/\"}]", tree);

        // The golden form numbers a watch's device and inode as ids, as those of the FDES of the file it watches: the
        // watched log and fd 1 show the same numbers.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], file.ToArray());
        var fd1 = System.Text.RegularExpressions.Regex.Match(golden, @"FDES fd=1 kind=0 [^\n]* device=(\w+) inode=(\w+) ");
        Assert.True(fd1.Success, golden);
        Assert.Contains($"INOT fd=3 watches=[{{wd=1 mask=0x2 device={fd1.Groups[1].Value} inode={fd1.Groups[2].Value} path=\"/srv/job/out.log\"}}, ", golden);
        Assert.Contains($"INOT fd=6 watches=[{{wd=1 mask=0x2 device={fd1.Groups[1].Value} inode={fd1.Groups[2].Value} path=\"/srv/job/out.log\"}}, ", golden);
    }

    [Fact]
    public void Pidfds_round_trip_and_bad_fields_are_rejected()
    {
        var pidfd = new PidFd(5, 4243);
        Assert.True(pidfd.IsCritical);
        Assert.Equal(pidfd, Assert.IsType<PidFd>(RawCheckpoint.ReadAll(InProcess("PIDF", Encoded(pidfd)))[2]));
        // What the reader takes at the edges: fd 0 and 2^31 - 1, pid 1, PID_MAX_LIMIT (2^22) and 2^31 - 1.
        foreach (var edge in new[] { new PidFd(0, 1), new PidFd(3, 1 << 22), new PidFd(int.MaxValue, int.MaxValue) })
            Assert.Equal(edge, RawCheckpoint.ReadAll(InProcess("PIDF", Encoded(edge)))[2]);

        byte[] payload = Encoded(pidfd);
        Assert.Equal([5, 0, 0, 0, 0x93, 0x10, 0, 0], payload); // fd 0, pid 4: 8 bytes, little-endian
        byte[] Patched(int offset, params byte[] bytes) => InProcess("PIDF", Patch(payload, offset, bytes));
        // A bad value is reported just past its field (§8.1): the PIDF frame stands before END PROC (16 bytes) and the trailer
        // (28), and its payload 12 bytes into it.
        long payloadAt = InProcess("PIDF", payload).Length - 28 - 16 - (16 + 8) + 12;
        var badFd = Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'PIDF'", "field 'fd' has invalid value -1", "not negative");
        Assert.Equal(payloadAt + 4, badFd.Offset);
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        var zero = Rejects(Patched(4, 0, 0, 0, 0), "'PIDF'", "field 'pid' has invalid value 0", "a pid is positive");
        Assert.Equal(payloadAt + 8, zero.Offset);
        Rejects(Patched(4, 0xff, 0xff, 0xff, 0xff), "field 'pid' has invalid value -1", "a pid is positive");
        Rejects(Patched(4, 0, 0, 0, 0x80), "field 'pid' has invalid value -2147483648", "a pid is positive");
        // The fd is checked before the pid is read.
        Rejects(InProcess("PIDF", [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), "field 'fd' has invalid value -1");
        // Cut short, or with bytes after the pid (an EVFD's 16 bytes under PIDF's tag among them: its count reads as a pid).
        Rejects(InProcess("PIDF", payload[..7]), "field 'pid' needs 4 bytes but only 3 remain");
        Rejects(InProcess("PIDF", payload[..4]), "field 'pid' needs 4 bytes but only 0 remain");
        Rejects(InProcess("PIDF", payload[..3]), "field 'fd' needs 4 bytes but only 3 remain");
        Rejects(InProcess("PIDF", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("PIDF", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("PIDF", [.. payload, 0, 0, 0, 0]), "4 unexpected bytes after the last field");
        Rejects(InProcess("PIDF", Encoded(new EventCounter(5, 1, 0))), "8 unexpected bytes after the last field");
        // In the wrong place.
        Rejects(InProcess("PIDF", payload, inThread: true), "'PIDF'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(pidfd).Complete(), "'PIDF'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(pidfd).End("FIFO").Complete(), "'PIDF'", "may not stand in section 'FIFO'");
        // Registered right after INOT, in PROC only, as an item.
        var kind = Assert.IsType<ItemKind>(ItemKinds.Find(PidFd.TagValue));
        Assert.Equal(("PIDF", "pidfd", false), (kind.Tag.ToString(), kind.Name, kind.IsSection));
        Assert.Equal([ItemKinds.Process], kind.AllowedIn);
        var tags = ItemKinds.All.Select(k => k.Tag).ToList();
        Assert.Equal(tags.IndexOf(InotifyFile.TagValue) + 1, tags.IndexOf(PidFd.TagValue));
        // A reader that does not know the tag (one written before PIDF was defined) rejects the file: the frame is critical.
        byte[] unknown = new RawCheckpoint().Begin("PROC").Item(Process()).Frame("PIDZ", ItemFlags.Critical, payload).End("PROC").Complete();
        Rejects(unknown, "unknown critical item 'PIDZ'", "item #2");
    }

    [Fact]
    public void Pidfds_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of the description in each process (kind 7, anon_inode:[pidfd]), its PIDF, then its
        // FOWN. A parent (pid P) holds pidfds of its live child (P + 1: fd 3, and fd 4 a dup of it, without a PIDF), of its
        // zombie child (P + 2, with PIDFD_NONBLOCK) and of itself; the live child inherited the description of fd 3 (at fd 10:
        // a PIDF of its own, equal but for fd). Both children's PROC sections come after the pidfds that refer to them.
        byte[] Write(int pid)
        {
            FileDescriptor Pidfd(int fd, uint openFlags, ulong description) =>
                new(fd, FileKind.AnonInode, FileDescriptor.CloseOnExec, openFlags, 0, 0x1c0, 0xf, 1_258_443 + description, 0, description, 0,
                    "anon_inode:[pidfd]"u8.ToArray());
            var file = new MemoryStream();
            using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
            {
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process(pid));
                writer.Write(Pidfd(3, 0x2 /* O_RDWR */, 1));
                writer.Write(new PidFd(3, pid + 1));
                writer.Write(Pidfd(4, 0x2, 1)); // a dup of 3
                writer.Write(Pidfd(5, 0x802 /* O_RDWR | O_NONBLOCK: PIDFD_NONBLOCK */, 2));
                writer.Write(new PidFd(5, pid + 2));
                writer.Write(Pidfd(6, 0x2, 3));
                writer.Write(new PidFd(6, pid));
                writer.Write(new FileOwner(6, FileOwnerKind.Process, pid, 0));
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(new ProcessInfo(pid + 1, pid, pid, pid, ProcessState.Alive, 0, 0, 0x12, 1, 0, 0, 0, 1, "child"u8.ToArray(), [], [], []));
                writer.Write(Pidfd(10, 0x2, 1));
                writer.Write(new PidFd(10, pid + 1));
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(new ProcessInfo(pid + 2, pid, pid, pid, ProcessState.Zombie, 3 << 8, 0, 0, 0, 0, 0, 0, 0, "zombie"u8.ToArray(), [], [], []));
                writer.EndSection(ItemKinds.Process);
                writer.Complete();
            }
            return file.ToArray();
        }
        byte[] bytes = Write(7);

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "PIDF", "FDES", "FDES", "PIDF", "FDES", "PIDF", "FOWN", "PROC",
            "PROC", "PINF", "FDES", "PIDF", "PROC", "PROC", "PINF", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Equal(FileKind.AnonInode, Assert.IsType<FileDescriptor>(read[2]).Kind);
        Assert.Equal([new PidFd(3, 8), new PidFd(5, 9), new PidFd(6, 7), new PidFd(10, 8)], read.OfType<PidFd>());
        // What a consumer checks (§8.5): every PIDF names a process of the file, the zombie included.
        var pids = read.OfType<ProcessInfo>().ToDictionary(p => p.Pid);
        Assert.All(read.OfType<PidFd>(), p => Assert.True(pids.ContainsKey(p.Pid), $"pid {p.Pid} has no PINF"));
        Assert.Equal(ProcessState.Zombie, pids[9].State);

        // The tree: fd and pid as decimal numbers.
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("PIDF @", tree);
        Assert.Contains("fd=5 kind=7 fd_flags=0x1 open_flags=0x802 offset=0 mode=0x1c0 device=15 inode=1258445 rdev=0 description_id=2 pipe_id=0 " +
            "path=\"anon_inode:[pidfd]\"\n", tree);
        Assert.Contains(" fd=3 pid=8\n", tree);
        Assert.Contains(" fd=5 pid=9\n", tree);
        Assert.Contains(" fd=6 pid=7\n", tree);

        // The JSON: the fields in payload order, as numbers; the frame critical.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var item = document.RootElement.GetProperty("items")[3];
            Assert.Equal("PIDF", item.GetProperty("tag").GetString());
            Assert.True(item.GetProperty("critical").GetBoolean());
            var fields = item.GetProperty("fields");
            Assert.Equal(["fd", "pid"], fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal((3, 8), (fields.GetProperty("fd").GetInt32(), fields.GetProperty("pid").GetInt32()));
        }

        // The golden form numbers a PIDF's pid in the one sequence of pids, as the PINF of the process it names: P1 the parent
        // (its ppid 1 is P2), P3 the live child and P4 the zombie, numbered at their first PIDF, before their own PROC.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], bytes);
        Assert.Contains("PINF pid=P1 ppid=P2 pgid=P1 sid=P1 ", golden);
        Assert.Contains("PIDF fd=3 pid=P3\n", golden);
        Assert.Contains("PIDF fd=5 pid=P4\n", golden);
        Assert.Contains("PIDF fd=6 pid=P1\n", golden);
        Assert.Contains("FOWN fd=6 owner_kind=1 owner=P1 signal=0\n", golden);
        Assert.Contains("PINF pid=P3 ppid=P1 pgid=P1 sid=P1 ", golden);
        Assert.Contains("PIDF fd=10 pid=P3\n", golden);
        Assert.Contains("PINF pid=P4 ppid=P1 pgid=P1 sid=P1 state=1 exit_status=768 ", golden);
        // Another run of the same tree, with other pids, gives the same text.
        Assert.Equal(golden, CryoDump.Run(["--normalize", "-"], Write(31_000)).Stdout);
    }

    [Fact]
    public void File_owners_round_trip_and_bad_fields_are_rejected()
    {
        var owner = new FileOwner(3, FileOwnerKind.ProcessGroup, 77, 36);
        var read = RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(Process()).Item(owner).End("PROC").Complete());
        Assert.Equal(owner, Assert.IsType<FileOwner>(read[2]));

        byte[] payload = Encoded(owner);
        Assert.Equal(13, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("FOWN", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'FOWN'", "field 'fd' has invalid value -1");
        Rejects(Patched(4, 3), "field 'owner_kind' has invalid value 3");
        Rejects(Patched(5, 0xff, 0xff, 0xff, 0xff), "field 'owner' has invalid value -1");
        Rejects(Patched(9, 65, 0, 0, 0), "field 'signal' has invalid value 65");
        Rejects(Patched(5, 0, 0, 0, 0, 0, 0, 0, 0), "field 'owner' has invalid value 0", "not written");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Begin("THRD").Item(owner).End("THRD").End("PROC").Complete(),
            "'FOWN'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Memory_advice_round_trips_and_bad_fields_are_rejected()
    {
        var advice = new MemoryAdvice(ProcessMemoryFlags.ThpDisabled,
            [new AdvisedArea(0x10000, 0x20000, AreaAdvice.Locked | AreaAdvice.LockOnFault), new AdvisedArea(0x20000, 0x30000, AreaAdvice.WipeOnFork)]);
        var read = RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(Process()).Item(advice).End("PROC").Complete());
        var back = Assert.IsType<MemoryAdvice>(read[2]);
        Assert.Equal(advice.ProcessFlags, back.ProcessFlags);
        Assert.Equal(advice.Areas, back.Areas);

        byte[] payload = Encoded(advice);
        Assert.Equal(8 + 2 * 20, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("MADV", Patch(payload, offset, bytes));
        // Entry i starts at 8 + 20 i: start, end, advice.
        Rejects(Patched(0, 0, 0x04), "'MADV'", "field 'process_flags' has invalid value 0x400", "only bits 0x3ff");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'process_flags' has invalid value 0x80000000", "only bits 0x3ff");
        Rejects(Patched(0, 0x4), "field 'process_flags' has invalid value 0x4", "only with refuse-exec-gain (2)");
        Rejects(Patched(0, 0x3d), "field 'process_flags' has invalid value 0x3d", "only with refuse-exec-gain (2)");
        Rejects(Patched(0, 0x10), "field 'process_flags' has invalid value 0x10", "only with lock-future (8)");
        Rejects(Patched(0, 0x37), "field 'process_flags' has invalid value 0x37", "only with lock-future (8)");
        Rejects(Patched(8 + 8, 0, 0, 1, 0), "field 'end' has invalid value 0x10000", "an area ends after it starts");
        Rejects(Patched(28, 0, 0, 0x01, 0), "field 'start' has invalid value 0x10000", "without overlap");
        Rejects(Patched(24, 0, 0, 0, 0), "field 'advice' has invalid value 0x0", "not listed");
        Rejects(Patched(24, 2, 0, 0, 0), "field 'advice' has invalid value 0x2", "only with locked");
        Rejects(Patched(44, 0x60, 0, 0, 0), "field 'advice' has invalid value 0x60", "exclude each other");
        Rejects(Patched(44, 0, 0x03, 0, 0), "field 'advice' has invalid value 0x300", "exclude each other");
        Rejects(Patched(44, 0, 0x04, 0, 0), "field 'advice' has invalid value 0x400", "only bits 0x3ff");
        Rejects(InProcess("MADV", payload[..46]), "list 'areas' claims 2 entries of 20 bytes");
        Rejects(new RawCheckpoint().Begin("PROC").Item(Process()).Begin("THRD").Item(advice).End("THRD").End("PROC").Complete(),
            "'MADV'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Process_memory_flags_round_trip()
    {
        foreach (var flags in new[]
        {
            ProcessMemoryFlags.RefuseExecGain, ProcessMemoryFlags.RefuseExecGain | ProcessMemoryFlags.RefuseExecGainNotInherited,
            ProcessMemoryFlags.LockFuture, ProcessMemoryFlags.LockFuture | ProcessMemoryFlags.LockFutureOnFault, ProcessMemoryFlags.MergeAll,
            ProcessMemoryFlags.MembarrierPrivateExpedited, ProcessMemoryFlags.MembarrierGlobalExpedited, MemoryAdvice.KnownProcessFlags,
        })
        {
            var advice = new MemoryAdvice(flags, []);
            Assert.Equal(flags, Assert.IsType<MemoryAdvice>(RawCheckpoint.ReadAll(InProcess("MADV", Encoded(advice)))[2]).ProcessFlags);
        }
    }

    [Fact]
    public void Guard_regions_round_trip_and_bad_fields_are_rejected()
    {
        // Two touching ranges (allowed: they may lie in two neighbouring areas), then one further up.
        var guards = new GuardRegions([new GuardRange(0x7f00_0000_0000, 0x7f00_0000_1000), new GuardRange(0x7f00_0000_1000, 0x7f00_0000_4000),
            new GuardRange(0x7f00_0001_0000, 0x7f00_0001_1000)]);
        Assert.True(guards.IsCritical);
        Assert.Equal(guards.Ranges, Assert.IsType<GuardRegions>(RawCheckpoint.ReadAll(InProcess("GARD", Encoded(guards)))[2]).Ranges);
        var extremes = new GuardRegions([new GuardRange(0, 1), new GuardRange(ulong.MaxValue - 1, ulong.MaxValue)]);
        Assert.Equal(extremes.Ranges, Assert.IsType<GuardRegions>(RawCheckpoint.ReadAll(InProcess("GARD", Encoded(extremes)))[2]).Ranges);

        byte[] payload = Encoded(guards);
        Assert.Equal(4 + 3 * 16, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("GARD", Patch(payload, offset, bytes));
        // The count at 0, entry i at 4 + 16 i: start, end.
        Rejects(InProcess("GARD", Encoded(new GuardRegions([]))), "'GARD'", "field 'ranges' has invalid value 0", "at least one range");
        Rejects(InProcess("GARD", [0, 0, 0, 0, .. payload[4..]]), "field 'ranges' has invalid value 0");
        Rejects(Patched(12, 0x00, 0x00), "field 'end' has invalid value 0x7f0000000000", "a range ends after it starts (start 0x7f0000000000)"); // end == start
        Rejects(Patched(12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7e), "field 'end' has invalid value 0x7e0000000000", "a range ends after it starts");
        Rejects(Patched(20, 0x00, 0x08), "field 'start' has invalid value 0x7f0000000800",
            "ranges ascend without overlap (the previous one ends at 0x7f0000001000)"); // overlaps the first
        Rejects(Patched(36, 0x00, 0x20, 0x00, 0x00), "field 'start' has invalid value 0x7f0000002000", "the previous one ends at 0x7f0000004000");
        Rejects(InProcess("GARD", Encoded(guards with { Ranges = [guards.Ranges[2], guards.Ranges[0]] })),
            "field 'start' has invalid value 0x7f0000000000", "the previous one ends at 0x7f0000011000"); // descending
        Rejects(InProcess("GARD", Encoded(guards with { Ranges = [guards.Ranges[0], guards.Ranges[0]] })),
            "field 'start' has invalid value 0x7f0000000000", "without overlap"); // one range twice
        Rejects(InProcess("GARD", payload[..^1]), "list 'ranges' claims 3 entries of 16 bytes but only 47 bytes remain");
        Rejects(InProcess("GARD", payload[..3]), "field 'ranges.count' needs 4 bytes");
        Rejects(InProcess("GARD", []), "field 'ranges.count' needs 4 bytes");
        Rejects(Patched(0, 0, 0, 2, 0), "list 'ranges' claims 131072 entries, over the limit of 65536");
        Rejects(InProcess("GARD", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(Patched(0, 2), "16 unexpected bytes after the last field"); // a count below the entries
        Rejects(InProcess("GARD", payload, inThread: true), "'GARD'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(guards).Complete(), "'GARD'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(guards).End("FIFO").Complete(), "'GARD'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Guard_regions_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the areas and their pages, GARD, MADV, then the descriptors. The guard page of the
        // heap (page 1) is in no run and in no PAGE item.
        var heap = new MemoryArea(0x1000000, 0x1004000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate | MemoryArea.MapAnonymous,
            MemoryAreaKind.Heap, 0, 0, "[heap]"u8.ToArray(), [new PageRun(0, 1), new PageRun(2, 2)]);
        var advice = new MemoryAdvice(ProcessMemoryFlags.None, [new AdvisedArea(0x1000000, 0x1004000, AreaAdvice.DontDump)]);
        var guards = new GuardRegions([new GuardRange(0x1001000, 0x1002000), new GuardRange(0x7ffd_0000_0000, 0x7ffd_0000_2000)]);
        var fd = new FileDescriptor(0, FileKind.CharDevice, 0, 0, 0, 0x21b6, 5, 6, 0x103, 1, 0, "/dev/null"u8.ToArray());
        var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(heap);
            writer.WritePages(0x1000000, new byte[4096]);
            writer.WritePages(0x1002000, new byte[2 * 4096]);
            writer.Write(guards);
            writer.Write(advice);
            writer.Write(fd);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(stream.ToArray());
        Assert.Equal(["PROC", "PINF", "AREA", "PAGE", "PAGE", "GARD", "MADV", "FDES", "PROC"], read.Select(i => i.Tag.ToString()));
        var back = Assert.IsType<GuardRegions>(read[5]);
        Assert.Null(ItemComparer.Difference(guards, back));
        Assert.Equal(guards.Ranges, back.Ranges);
        var (code, tree, _) = CryoDump.Run(["-"], stream.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("GARD @", tree);
        Assert.Contains("ranges=[{start=0x1001000 end=0x1002000}, {start=0x7ffd00000000 end=0x7ffd00002000}]", tree);
    }

    [Fact]
    public void System_V_segments_round_trip_and_bad_fields_are_rejected()
    {
        var segment = new SysVSegment(32769, 0x0000_beef, 10_000, 0x1b6 /* 0666 */ | SysVSegment.Locked, 1000, 100, 0, 0, 4242, 1_767_225_600);
        Assert.True(segment.IsCritical);
        Assert.Equal(segment, Assert.IsType<SysVSegment>(RawCheckpoint.ReadAll(InProcess("SHMS", Encoded(segment)))[2]));
        var destroyed = new SysVSegment(0, 0, 1, SysVSegment.PermissionBits | SysVSegment.Destroyed | SysVSegment.Locked, 0, 0, 0, 0, 1, -1);
        Assert.True(destroyed.IsDestroyed);
        Assert.Equal(destroyed, Assert.IsType<SysVSegment>(RawCheckpoint.ReadAll(InProcess("SHMS", Encoded(destroyed)))[2]));
        var negativeKey = new SysVSegment(int.MaxValue, -1, ulong.MaxValue, 0, uint.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue, int.MaxValue, long.MinValue);
        Assert.Equal(negativeKey, Assert.IsType<SysVSegment>(RawCheckpoint.ReadAll(InProcess("SHMS", Encoded(negativeKey)))[2]));

        byte[] payload = Encoded(segment);
        Assert.Equal(48, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("SHMS", Patch(payload, offset, bytes));
        // id 0, key 4, size 8, mode 16, uid 20, gid 24, creator_uid 28, creator_gid 32, creator_pid 36, change_time 40.
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'SHMS'", "field 'id' has invalid value -1", "not negative");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'id' has invalid value -2147483648");
        Rejects(Patched(8, 0, 0, 0, 0, 0, 0, 0, 0), "field 'size' has invalid value 0", "at least one byte");
        Rejects(Patched(16, 0, 0x08), "field 'mode' has invalid value 0x800", "only the permission bits 0x1ff");
        Rejects(Patched(16, 0, 0, 0, 0x80), "field 'mode' has invalid value 0x80000000");
        Rejects(Patched(16, 0xb6, 0x03), "field 'key' has invalid value 48879", "a destroyed segment (mode 0x200) has key 0");
        Rejects(Patched(36, 0, 0, 0, 0), "field 'creator_pid' has invalid value 0", "a pid is positive");
        Rejects(Patched(36, 0xff, 0xff, 0xff, 0xff), "field 'creator_pid' has invalid value -1");
        Rejects(InProcess("SHMS", payload[..47]), "field 'change_time' needs 8 bytes");
        Rejects(InProcess("SHMS", payload[..12]), "field 'size' needs 8 bytes");
        Rejects(InProcess("SHMS", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("SHMS", payload, inThread: true), "'SHMS'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(segment).Complete(), "'SHMS'", "may not stand outside a section");
    }

    [Fact]
    public void System_V_attachments_are_area_kind_10_and_kind_12_is_rejected()
    {
        var attachment = new MemoryArea(0x7f12_3456_7000, 0x7f12_3456_9000, 0x1000, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
            MemoryAreaKind.SysVShared, 1, 32769, "/SYSV0000beef (deleted)"u8.ToArray(), [new PageRun(0, 2)]);
        var back = Assert.IsType<MemoryArea>(RawCheckpoint.ReadAll(InProcess("AREA", Encoded(attachment)))[2]);
        Assert.Null(ItemComparer.Difference(attachment, back));
        Assert.Equal(MemoryAreaKind.SysVShared, back.Kind);
        Assert.Equal(10, (int)back.Kind);

        byte[] payload = Encoded(attachment);
        // start 0, end 8, file_offset 16, prot 24, map_flags 28, kind 32.
        Rejects(InProcess("AREA", Patch(payload, 32, 12)), "'AREA'", "field 'kind' has invalid value 12", "unknown memory area kind");
        Rejects(InProcess("AREA", Patch(payload, 32, 0xff)), "field 'kind' has invalid value 255");
    }

    [Fact]
    public void Unix_sockets_round_trip_and_bad_fields_are_rejected()
    {
        var socket = new UnixSocket(5, 88123, 88124, UnixSocketType.Stream, UnixSocket.SendShut, 212_992, 425_984, UnixSocket.PassCredentials, 12, 5);
        Assert.True(socket.IsCritical);
        Assert.Equal(socket, Assert.IsType<UnixSocket>(RawCheckpoint.ReadAll(InProcess("USCK", Encoded(socket)))[2]));
        // Every type; a closed peer (peer_id 0) with both directions shut down; the peek offset off (-1) and at its largest; the largest ids.
        foreach (var type in new[] { UnixSocketType.Stream, UnixSocketType.Datagram, UnixSocketType.SeqPacket })
            Assert.Equal(type, Assert.IsType<UnixSocket>(RawCheckpoint.ReadAll(InProcess("USCK", Encoded(socket with { Type = type })))[2]).Type);
        var closed = new UnixSocket(0, 1, 0, UnixSocketType.SeqPacket, UnixSocket.ReceiveShut | UnixSocket.SendShut, 0, 0, 0, -1, 0);
        Assert.Equal(closed, Assert.IsType<UnixSocket>(RawCheckpoint.ReadAll(InProcess("USCK", Encoded(closed)))[2]));
        var largest = new UnixSocket(int.MaxValue, ulong.MaxValue, ulong.MaxValue - 1, UnixSocketType.Datagram, 3, uint.MaxValue, uint.MaxValue,
            UnixSocket.PassCredentials, int.MaxValue, ulong.MaxValue);
        Assert.Equal(largest, Assert.IsType<UnixSocket>(RawCheckpoint.ReadAll(InProcess("USCK", Encoded(largest)))[2]));

        byte[] payload = Encoded(socket);
        Assert.Equal(46, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("USCK", Patch(payload, offset, bytes));
        // fd 0, socket_id 4, peer_id 12, type 20, shutdown 21, send_buffer 22, receive_buffer 26, options 30, peek_offset 34, queued_bytes 38.
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'USCK'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(4, 0, 0, 0, 0, 0, 0, 0, 0), "field 'socket_id' has invalid value 0", "the socket's inode number, never 0");
        Rejects(InProcess("USCK", Encoded(socket with { PeerId = socket.SocketId })), "field 'peer_id' has invalid value 88123", "not its own peer");
        Rejects(InProcess("USCK", Encoded(closed with { PeerId = 1 })), "field 'peer_id' has invalid value 1");
        Rejects(Patched(20, 3), "field 'type' has invalid value 3", "only 1 (stream), 2 (datagram) and 5 (seqpacket)"); // SOCK_RAW
        Rejects(Patched(20, 0), "field 'type' has invalid value 0");
        Rejects(Patched(20, 4), "field 'type' has invalid value 4"); // SOCK_RDM
        Rejects(Patched(20, 0x81), "field 'type' has invalid value 129"); // SOCK_STREAM with SOCK_CLOEXEC's bit: flags are the FDES's
        Rejects(Patched(21, 4), "field 'shutdown' has invalid value 4", "only bits 1 (receive) and 2 (send)");
        Rejects(Patched(21, 0xff), "field 'shutdown' has invalid value 255");
        Rejects(Patched(30, 2), "field 'options' has invalid value 0x2", "only bit 0x1 (SO_PASSCRED)");
        Rejects(Patched(30, 1, 0, 0, 0x80), "field 'options' has invalid value 0x80000001");
        Rejects(Patched(34, 0xfe, 0xff, 0xff, 0xff), "field 'peek_offset' has invalid value -2", "-1 (off) or not negative");
        Rejects(Patched(34, 0, 0, 0, 0x80), "field 'peek_offset' has invalid value -2147483648");
        Rejects(InProcess("USCK", payload[..45]), "field 'queued_bytes' needs 8 bytes but only 7 remain");
        Rejects(InProcess("USCK", payload[..20]), "field 'type' needs 1 bytes");
        Rejects(InProcess("USCK", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("USCK", payload, inThread: true), "'USCK'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(socket).Complete(), "'USCK'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(socket).End("FIFO").Complete(), "'USCK'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Unix_socket_data_round_trips_empty_included_and_misplaced_data_is_rejected()
    {
        byte[] bytes = new byte[3000];
        new Random(9).NextBytes(bytes);
        var data = new UnixSocketData(88123, bytes);
        Assert.True(data.IsCritical);
        var back = Assert.IsType<UnixSocketData>(RawCheckpoint.ReadAll(InProcess("UDAT", Encoded(data)))[2]);
        Assert.Null(ItemComparer.Difference(data, back));
        Assert.Equal(bytes, back.Data.ToArray());
        // An empty datagram is a message: the reader takes an empty UDAT (unlike an empty MDAT or PAGE).
        var empty = Assert.IsType<UnixSocketData>(RawCheckpoint.ReadAll(InProcess("UDAT", Encoded(data with { Data = Array.Empty<byte>() })))[2]);
        Assert.Equal((88123UL, 0), (empty.SocketId, empty.Data.Length));
        // Any socket id, 0 included: whether a USCK of that socket comes before it is the consumer's check (§8.5).
        Assert.Equal(0UL, Assert.IsType<UnixSocketData>(RawCheckpoint.ReadAll(InProcess("UDAT", Encoded(data with { SocketId = 0 })))[2]).SocketId);

        byte[] payload = Encoded(data);
        Assert.Equal(8 + 3000, payload.Length);
        Rejects(InProcess("UDAT", payload[..7]), "'UDAT'", "field 'socket_id' needs 8 bytes but only 7 remain");
        Rejects(InProcess("UDAT", []), "field 'socket_id' needs 8 bytes but only 0 remain");
        Rejects(InProcess("UDAT", payload, inThread: true), "'UDAT'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(data).Complete(), "'UDAT'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(data).End("FIFO").Complete(), "'UDAT'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Unix_socket_pairs_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: each FDES of kind 6, its USCK, then (after the socket's first USCK in the file) its UDAT items, then
        // its FOWN. A second process that holds one end of the pair (after fork) has a USCK for it too, without UDAT.
        var stream = new UnixSocket(3, 88123, 88124, UnixSocketType.Stream, UnixSocket.SendShut, 212_992, 212_992, 0, -1, 11);
        var peer = new UnixSocket(4, 88124, 88123, UnixSocketType.Stream, UnixSocket.ReceiveShut, 212_992, 212_992, UnixSocket.PassCredentials, 0, 0);
        var closed = new UnixSocket(5, 88200, 0, UnixSocketType.SeqPacket, UnixSocket.ReceiveShut | UnixSocket.SendShut, 4608, 4608, 0, -1, 5);
        FileDescriptor Fd(int fd, ulong inode, ulong description) =>
            new(fd, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802 /* O_RDWR | O_NONBLOCK */, 0, 0xc1ff, 0x8, inode, 0, description, 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]"));
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(Fd(3, 88123, 1));
            writer.Write(stream);
            writer.Write(new UnixSocketData(88123, "hello "u8.ToArray()));
            writer.Write(new UnixSocketData(88123, "world"u8.ToArray()));
            writer.Write(new FileOwner(3, FileOwnerKind.Process, 7, 0));
            writer.Write(Fd(4, 88124, 2));
            writer.Write(peer);
            writer.Write(Fd(5, 88200, 3));
            writer.Write(closed); // its peer was closed: what it sent before waits here, then end of file
            writer.Write(new UnixSocketData(88200, Array.Empty<byte>()));
            writer.Write(new UnixSocketData(88200, "a"u8.ToArray()));
            writer.Write(new UnixSocketData(88200, "four"u8.ToArray()));
            writer.Write(Fd(6, 88200, 3)); // a dup: no USCK after the description's second descriptor
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(Fd(4, 88124, 2));
            writer.Write(peer);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(file.ToArray());
        Assert.Equal(["PROC", "PINF", "FDES", "USCK", "UDAT", "UDAT", "FOWN", "FDES", "USCK", "FDES", "USCK", "UDAT", "UDAT", "UDAT", "FDES", "PROC",
            "PROC", "PINF", "FDES", "USCK", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Equal(stream, read[3]);
        Assert.Equal("world"u8.ToArray(), Assert.IsType<UnixSocketData>(read[5]).Data.ToArray());
        Assert.Equal(0, Assert.IsType<UnixSocketData>(read[11]).Data.Length);
        Assert.Equal(peer, read[19]);

        var (code, tree, _) = CryoDump.Run(["-"], file.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("USCK @", tree);
        Assert.Contains("fd=3 socket_id=88123 peer_id=88124 type=1 shutdown=0x2 send_buffer=212992 receive_buffer=212992 options=0x0 peek_offset=-1 queued_bytes=11", tree);
        Assert.Contains("fd=4 socket_id=88124 peer_id=88123 type=1 shutdown=0x1 send_buffer=212992 receive_buffer=212992 options=0x1 peek_offset=0 queued_bytes=0", tree);
        Assert.Contains("UDAT @", tree);
        Assert.Contains("socket_id=88123 data=<5 bytes crc32c:", tree);
        Assert.Contains("socket_id=88200 data=<0 bytes crc32c:00000000>", tree);

        // The golden form numbers a socket's id, the inode and path of its FDES and the peer_id of the other end alike,
        // and keeps the queued bytes' checksum (they are data, as a pipe's are).
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], file.ToArray());
        var ids = System.Text.RegularExpressions.Regex.Match(golden, @"USCK fd=3 socket_id=(I\d+) peer_id=(I\d+) ");
        Assert.True(ids.Success, golden);
        string socketId = ids.Groups[1].Value, peerId = ids.Groups[2].Value;
        Assert.Contains($"inode={socketId} rdev=0 description_id=", golden);
        Assert.Contains($"path=\"socket:[{socketId}]\"", golden);
        Assert.Contains($"USCK fd=4 socket_id={peerId} peer_id={socketId} ", golden);
        Assert.Matches($@"UDAT socket_id={socketId} data=<6 bytes crc32c:[0-9a-f]{{8}}>", golden);

        // The summary lists each socket once, with the bytes queued at it: a socket's data is not memory stored.
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], file.ToArray());
        Assert.Contains("0 areas, 0 bytes mapped, 0 bytes stored", summary);
        Assert.Contains("fd 3: Socket socket:[88123]", summary);
        Assert.Contains("sockets: 3", summary);
        Assert.Contains("  socket 88123: stream pair, peer 88124, shut down for sending, 11 bytes queued\n", summary);
        Assert.Contains("  socket 88124: stream pair, peer 88123, shut down for receiving, 0 bytes queued\n", summary);
        Assert.Contains("  socket 88200: seqpacket pair, peer closed, shut down, 5 bytes queued in 3 message(s)\n", summary);
        var (_, withoutSockets, _) = CryoDump.Run(["--summary", "-"], SampleFiles.Build("tree"));
        Assert.DoesNotContain("sockets:", withoutSockets);
    }

    [Fact]
    public void Unix_socket_names_round_trip_and_bad_fields_are_rejected()
    {
        var path = new UnixSocketName(88123, "/run/cryo-test/app.sock"u8.ToArray());
        Assert.True(path.IsCritical);
        var back = Assert.IsType<UnixSocketName>(RawCheckpoint.ReadAll(InProcess("USNM", Encoded(path)))[2]);
        Assert.Null(ItemComparer.Difference(path, back));
        Assert.Equal(88123UL, back.SocketId);
        Assert.Equal(path.Name, back.Name);
        Assert.False(back.IsAbstract);
        // An abstract name with NULs inside and last: every byte counts, NULs included.
        var @abstract = new UnixSocketName(88124, [0, .. "cryo"u8, 0, .. "x"u8, 0]);
        var abstractBack = Assert.IsType<UnixSocketName>(RawCheckpoint.ReadAll(InProcess("USNM", Encoded(@abstract)))[2]);
        Assert.Equal(new byte[] { 0, 0x63, 0x72, 0x79, 0x6f, 0, 0x78, 0 }, abstractBack.Name);
        Assert.True(abstractBack.IsAbstract);
        // The shortest and longest names of both kinds (a path "/" or "x", the empty abstract name: one NUL; 108 bytes each, an
        // abstract name of NULs only among them); a relative path (a client may bind one); every byte but NUL in a path; the
        // largest socket id. The reader takes what only consumers care about: a name the kernel could have given by itself
        // (autobind: writers write no USNM for it), and a USNM with no USCK before it (§8.5).
        var edges = new[]
        {
            new UnixSocketName(1, "/"u8.ToArray()),
            new UnixSocketName(2, "x"u8.ToArray()),
            new UnixSocketName(ulong.MaxValue, [(byte)'/', .. Enumerable.Repeat((byte)'x', 107)]),
            new UnixSocketName(3, [0]),
            new UnixSocketName(4, new byte[UnixSocketName.MaxLength]),
            new UnixSocketName(5, [0, .. Enumerable.Range(0, 107).Select(i => (byte)(i * 37))]),
            new UnixSocketName(6, "run/relative.sock"u8.ToArray()),
            new UnixSocketName(7, [.. Enumerable.Range(1, 108).Select(i => (byte)(i * 7 % 255 + 1))]),
            new UnixSocketName(8, [0, .. "3f2a1"u8]),
        };
        foreach (var edge in edges)
        {
            var read = Assert.IsType<UnixSocketName>(RawCheckpoint.ReadAll(InProcess("USNM", Encoded(edge)))[2]);
            Assert.Null(ItemComparer.Difference(edge, read));
            Assert.Equal(edge.Name, read.Name);
            Assert.Equal(edge.Name[0] == 0, read.IsAbstract);
        }
        Assert.Equal([1, 1, 108, 1, 108, 108], edges[..6].Select(e => e.Name.Length));
        Assert.DoesNotContain((byte)0, edges[7].Name);

        byte[] payload = Encoded(path);
        int n = path.Name.Length;
        Assert.Equal(23, n);
        Assert.Equal(10 + n, payload.Length);
        // socket_id 0, name 8 (its length, then its bytes at 10).
        Assert.Equal(88123UL, BinaryPrimitives.ReadUInt64LittleEndian(payload));
        Assert.Equal(new byte[] { 23, 0 }, payload[8..10]);
        Assert.Equal(path.Name, payload[10..]);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("USNM", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0, 0, 0, 0, 0, 0, 0, 0), "'USNM'", "field 'socket_id' has invalid value 0", "never 0");
        Rejects(InProcess("USNM", Encoded(path with { Name = [] })), "field 'name' has invalid value 0", "1 to 108 bytes (sun_path)");
        Rejects(InProcess("USNM", Encoded(path with { Name = [(byte)'/', .. Enumerable.Repeat((byte)'x', 108)] })), "field 'name' has invalid value 109");
        Rejects(InProcess("USNM", Encoded(path with { Name = [0, .. Enumerable.Repeat((byte)'x', 108)] })), "field 'name' has invalid value 109");
        Rejects(InProcess("USNM", Encoded(path with { Name = new byte[109] })), "field 'name' has invalid value 109");
        Rejects(Patched(8, 0x01, 0x10), "field 'name' is 4097 bytes long, over the limit of 4096");
        // A NUL in a path, anywhere after its first byte: inside, last, in the longest path; in a name of one byte and a NUL.
        Rejects(Patched(15, 0), "'USNM'", "field 'name' has invalid value", "a path holds no NUL byte");
        Rejects(Patched(10 + n - 1, 0), "a path holds no NUL byte");
        Rejects(InProcess("USNM", Encoded(path with { Name = [(byte)'/', .. Enumerable.Repeat((byte)'x', 106), 0] })), "a path holds no NUL byte");
        Rejects(InProcess("USNM", Encoded(path with { Name = "x\0"u8.ToArray() })), "a path holds no NUL byte");
        // The path's first byte made NUL: an abstract name, which may hold NULs.
        var madeAbstract = Assert.IsType<UnixSocketName>(RawCheckpoint.ReadAll(Patched(10, 0))[2]);
        Assert.True(madeAbstract.IsAbstract);
        byte[] expected = [0, .. path.Name[1..]];
        Assert.Equal(expected, madeAbstract.Name);
        // The first failing check wins, in field order: the socket id before the name, the length before the NUL.
        Rejects(InProcess("USNM", Patch(Encoded(path with { Name = [] }), 0, 0, 0, 0, 0, 0, 0, 0, 0)), "field 'socket_id' has invalid value 0");
        Rejects(InProcess("USNM", Encoded(path with { Name = [(byte)'/', .. new byte[108]] })), "field 'name' has invalid value 109", "1 to 108 bytes");
        // Cut short, or a byte too many.
        Rejects(InProcess("USNM", payload[..^1]), "field 'name' needs 23 bytes but only 22 remain");
        Rejects(InProcess("USNM", payload[..10]), "field 'name' needs 23 bytes but only 0 remain");
        Rejects(InProcess("USNM", payload[..9]), "field 'name.length' needs 2 bytes but only 1 remain");
        Rejects(InProcess("USNM", payload[..7]), "field 'socket_id' needs 8 bytes but only 7 remain");
        Rejects(InProcess("USNM", []), "field 'socket_id' needs 8 bytes but only 0 remain");
        Rejects(InProcess("USNM", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("USNM", [.. Encoded(@abstract), 0]), "1 unexpected bytes after the last field"); // a NUL more is no part of the name
        // In the wrong place.
        Rejects(InProcess("USNM", payload, inThread: true), "'USNM'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(path).Complete(), "'USNM'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(path).End("FIFO").Complete(), "'USNM'", "may not stand in section 'FIFO'");
        // Registered in PROC only, as an item.
        var kind = Assert.IsType<ItemKind>(ItemKinds.Find(UnixSocketName.TagValue));
        Assert.Equal(("Unix socket name", false), (kind.Name, kind.IsSection));
        Assert.Equal([ItemKinds.Process], kind.AllowedIn);
    }

    [Fact]
    public void Named_unix_sockets_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of a description in each process, its USCK, then (after the socket's first USCK in the
        // file) its USNM, its UDAT items, then its FOWN. A server (pid 7) that listens on /run/cryo-test/app.sock holds the end
        // of a connection it accepted, which carries the listener's name; its client (pid 8) bound an abstract name before it
        // connected. A child of the server (pid 9) that inherited the accepted socket has a USCK of it, without USNM or UDAT.
        var server = new UnixSocket(4, 88300, 88301, UnixSocketType.Stream, 0, 212_992, 212_992, UnixSocket.PassCredentials, -1, 5);
        var client = new UnixSocket(3, 88301, 88300, UnixSocketType.Stream, 0, 212_992, 212_992, 0, -1, 0);
        var serverName = new UnixSocketName(88300, "/run/cryo-test/app.sock"u8.ToArray());
        var clientName = new UnixSocketName(88301, [0, .. "client-1"u8]);
        var listener = new UnixListener(3, UnixSocketType.Stream, serverName.Name, 128, UnixSocket.PassCredentials, 0x803, 91_500, 0xc1ed, 1000, 100);
        FileDescriptor Fd(int fd, ulong inode, ulong description) =>
            new(fd, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802 /* O_RDWR | O_NONBLOCK */, 0, 0xc1ff, 0x8, inode, 0, description, 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]"));
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(Fd(3, 93001, 1));
            writer.Write(listener);
            writer.Write(Fd(4, 88300, 2));
            writer.Write(server);
            writer.Write(serverName);
            writer.Write(new UnixSocketData(88300, "hello"u8.ToArray()));
            writer.Write(new FileOwner(4, FileOwnerKind.Process, 7, 0));
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(Fd(3, 88301, 3));
            writer.Write(client);
            writer.Write(clientName); // no UDAT: nothing queued at the client
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(9));
            writer.Write(Fd(4, 88300, 2));
            writer.Write(server);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }
        byte[] bytes = file.ToArray();

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "ULSN", "FDES", "USCK", "USNM", "UDAT", "FOWN", "PROC",
            "PROC", "PINF", "FDES", "USCK", "USNM", "PROC", "PROC", "PINF", "FDES", "USCK", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Null(ItemComparer.Difference(serverName, read[6]));
        Assert.Null(ItemComparer.Difference(clientName, read[14]));
        Assert.Equal(server, read[19]);
        Assert.True(Assert.IsType<UnixSocketName>(read[14]).IsAbstract);
        Assert.True(read[6].IsCritical);

        // The tree: the name as an escaped byte string (an abstract name's NUL as \x00), the socket id as a number.
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("USNM @", tree);
        Assert.Contains("socket_id=88300 name=\"/run/cryo-test/app.sock\"\n", tree);
        Assert.Contains("socket_id=88301 name=\"\\x00client-1\"\n", tree);

        // The JSON: the fields in payload order, the name as the same escaped text.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var items = document.RootElement.GetProperty("items");
            Assert.Equal("USNM", items[6].GetProperty("tag").GetString());
            Assert.True(items[6].GetProperty("critical").GetBoolean());
            var fields = items[6].GetProperty("fields");
            Assert.Equal(["socket_id", "name"], fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal(88300UL, fields.GetProperty("socket_id").GetUInt64());
            Assert.Equal("/run/cryo-test/app.sock", fields.GetProperty("name").GetString());
            Assert.Equal("\\x00client-1", items[14].GetProperty("fields").GetProperty("name").GetString());
        }

        // The golden form numbers a USNM's socket id as its USCK's (and its FDES's inode), and gives its path the path aliases,
        // as the listener's name.
        var (_, golden, _) = CryoDump.Run(["--normalize", "--path-alias", "/run/cryo-test=<run>", "-"], bytes);
        var ids = System.Text.RegularExpressions.Regex.Match(golden, @"USCK fd=4 socket_id=(I\d+) peer_id=(I\d+) ");
        Assert.True(ids.Success, golden);
        Assert.Contains($"USNM socket_id={ids.Groups[1].Value} name=\"<run>/app.sock\"\n", golden);
        Assert.Contains($"USNM socket_id={ids.Groups[2].Value} name=\"\\x00client-1\"\n", golden);
        Assert.Contains("ULSN fd=3 type=1 name=\"<run>/app.sock\" ", golden);

        // The summary lists the pair with its names (an abstract one with '@', as ss shows it), peer and queue.
        var (summaryCode, summary, _) = CryoDump.Run(["--summary", "-"], bytes);
        Assert.Equal(0, summaryCode);
        Assert.Contains("socket 88300: stream pair, named /run/cryo-test/app.sock, peer 88301", summary);
        Assert.Contains("socket 88301: stream pair, named @client-1, peer 88300", summary);
    }

    /// <summary>A daemon's control socket: a stream listener on /run/cryo-test/ctl.sock with SO_PASSCRED, backlog 128, its socket file of mode 0755 owned by 1000:100.</summary>
    private static UnixListener PathListener(int fd = 5) =>
        new(fd, UnixSocketType.Stream, "/run/cryo-test/ctl.sock"u8.ToArray(), 128, UnixSocket.PassCredentials, 0x803, 91_500, 0xc1ed, 1000, 100);

    /// <summary>An abstract seqpacket listener, NUL "cryo" NUL (the last NUL is part of the name), backlog 4096: no file, so device, inode, mode and owner 0.</summary>
    private static UnixListener AbstractListener(int fd = 6) =>
        new(fd, UnixSocketType.SeqPacket, [0, .. "cryo"u8, 0], 4096, 0, 0, 0, 0, 0, 0);

    [Fact]
    public void Unix_listeners_round_trip_and_bad_fields_are_rejected()
    {
        var socket = PathListener();
        Assert.True(socket.IsCritical);
        var back = Assert.IsType<UnixListener>(RawCheckpoint.ReadAll(InProcess("ULSN", Encoded(socket)))[2]);
        Assert.Null(ItemComparer.Difference(socket, back));
        Assert.Equal(socket.Name, back.Name);
        Assert.False(back.IsAbstract);
        var abstractBack = Assert.IsType<UnixListener>(RawCheckpoint.ReadAll(InProcess("ULSN", Encoded(AbstractListener())))[2]);
        Assert.Equal(new byte[] { 0, 0x63, 0x72, 0x79, 0x6f, 0 }, abstractBack.Name);
        Assert.True(abstractBack.IsAbstract);
        Assert.Equal((UnixSocketType.SeqPacket, 4096u, 0UL), (abstractBack.Type, abstractBack.Backlog, abstractBack.FileInode));
        // The shortest and longest names of both kinds (a path "/", the empty abstract name: one NUL, 108 bytes each); backlog 0
        // and the largest; the largest ids and owners. The reader takes what only writers and consumers care about: a relative
        // path, a path with a NUL inside (writers cut the name at its first NUL), an abstract name with a device, mode or owner
        // (it checks the inode alone).
        var edges = new[]
        {
            new UnixListener(0, UnixSocketType.Stream, "/"u8.ToArray(), 0, 0, 0, 1, 0xc000, 0, 0),
            new UnixListener(int.MaxValue, UnixSocketType.SeqPacket, [(byte)'/', .. Enumerable.Repeat((byte)'x', 107)], uint.MaxValue,
                UnixSocket.PassCredentials, ulong.MaxValue, ulong.MaxValue, uint.MaxValue, uint.MaxValue, uint.MaxValue),
            new UnixListener(3, UnixSocketType.Stream, [0], 1, 0, 0, 0, 0, 0, 0),
            new UnixListener(4, UnixSocketType.SeqPacket, [0, .. Enumerable.Range(0, 107).Select(i => (byte)(i * 37))], 5, UnixSocket.PassCredentials,
                0, 0, 0, 0, 0),
            new UnixListener(5, UnixSocketType.Stream, "run/relative.sock"u8.ToArray(), 5, 0, 0x803, 77, 0xc1ff, 0, 0),
            new UnixListener(6, UnixSocketType.Stream, "/tmp/a\0b"u8.ToArray(), 5, 0, 0x803, 78, 0xc1ff, 0, 0),
            new UnixListener(7, UnixSocketType.Stream, [0, .. "x"u8], 5, 0, 0x803, 0, 0xc1ff, 1000, 100),
        };
        foreach (var edge in edges)
        {
            var read = Assert.IsType<UnixListener>(RawCheckpoint.ReadAll(InProcess("ULSN", Encoded(edge)))[2]);
            Assert.Null(ItemComparer.Difference(edge, read));
            Assert.Equal(edge.Name, read.Name);
            Assert.Equal(edge.Name[0] == 0, read.IsAbstract);
        }
        Assert.Equal([1, 108, 1, 108], edges[..4].Select(e => e.Name.Length));

        byte[] payload = Encoded(socket);
        int n = socket.Name.Length;
        Assert.Equal(23, n);
        Assert.Equal(43 + n, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("ULSN", Patch(payload, offset, bytes));
        // fd 0, type 4, name 5 (its length, then its bytes at 7), backlog 7+n, options 11+n, file_device 15+n, file_inode 23+n,
        // file_mode 31+n, file_uid 35+n, file_gid 39+n.
        Assert.Equal(new byte[] { 23, 0 }, payload[5..7]);
        Assert.Equal(socket.Name, payload[7..(7 + n)]);
        Assert.Equal(91_500UL, BinaryPrimitives.ReadUInt64LittleEndian(payload.AsSpan(23 + n)));
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'ULSN'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        Rejects(Patched(4, 0), "field 'type' has invalid value 0", "only 1 (stream) and 5 (seqpacket) sockets listen");
        Rejects(Patched(4, 2), "field 'type' has invalid value 2"); // SOCK_DGRAM: a datagram socket does not listen
        Rejects(Patched(4, 3), "field 'type' has invalid value 3"); // SOCK_RAW
        Rejects(Patched(4, 0x81), "field 'type' has invalid value 129"); // SOCK_STREAM with SOCK_CLOEXEC's bit: flags are the FDES's
        Rejects(InProcess("ULSN", Encoded(socket with { Name = [] })), "field 'name' has invalid value 0", "1 to 108 bytes (sun_path)");
        Rejects(InProcess("ULSN", Encoded(socket with { Name = [(byte)'/', .. Enumerable.Repeat((byte)'x', 108)] })), "field 'name' has invalid value 109");
        Rejects(InProcess("ULSN", Encoded(AbstractListener() with { Name = [0, .. new byte[108]] })), "field 'name' has invalid value 109");
        Rejects(Patched(5, 0x01, 0x10), "field 'name' is 4097 bytes long, over the limit of 4096");
        Rejects(InProcess("ULSN", Encoded(AbstractListener() with { FileInode = 91_500 })), "field 'file_inode' has invalid value 91500",
            "a path has its socket file's inode, an abstract name none (0)");
        Rejects(InProcess("ULSN", Encoded(AbstractListener() with { FileInode = ulong.MaxValue })), "field 'file_inode' has invalid value 18446744073709551615");
        Rejects(InProcess("ULSN", Encoded(socket with { FileInode = 0 })), "field 'file_inode' has invalid value 0");
        Rejects(Patched(7, 0), "field 'file_inode' has invalid value 91500"); // the path's first byte made NUL: an abstract name, with an inode
        Rejects(Patched(11 + n, 2), "field 'options' has invalid value 0x2", "only bit 0x1 (SO_PASSCRED)");
        Rejects(Patched(11 + n, 1, 0, 0, 0x80), "field 'options' has invalid value 0x80000001");
        // The first failing check wins, in field order: the type before the name, the name before the options, the options
        // before the inode.
        Rejects(InProcess("ULSN", Patch(Encoded(socket with { Name = [] }), 4, 2)), "field 'type' has invalid value 2");
        Rejects(InProcess("ULSN", Encoded(socket with { Name = new byte[109], Options = 2 })), "field 'name' has invalid value 109");
        Rejects(InProcess("ULSN", Encoded(socket with { Options = 4, FileInode = 0 })), "field 'options' has invalid value 0x4");
        // Cut short, or a byte too many.
        Rejects(InProcess("ULSN", payload[..(42 + n)]), "field 'file_gid' needs 4 bytes but only 3 remain");
        Rejects(InProcess("ULSN", payload[..(23 + n)]), "field 'file_inode' needs 8 bytes but only 0 remain");
        Rejects(InProcess("ULSN", payload[..(6 + n)]), "field 'name' needs 23 bytes but only 22 remain");
        Rejects(InProcess("ULSN", payload[..6]), "field 'name.length' needs 2 bytes but only 1 remain");
        Rejects(InProcess("ULSN", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("ULSN", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("ULSN", Encoded(Listener())), "field 'type' has invalid value 2"); // an ISCK's payload under this tag: family 2 read as the type
        // In the wrong place.
        Rejects(InProcess("ULSN", payload, inThread: true), "'ULSN'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(socket).Complete(), "'ULSN'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(socket).End("FIFO").Complete(), "'ULSN'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Unix_listeners_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of the description in each process (kind 6, socket:[INODE]), its ULSN, then its FOWN.
        // A dup has none; a child that inherited the listener has a ULSN of its own, equal but for fd. An abstract listener, a
        // listening TCP socket and a Unix socket pair end stand beside it: each socket FDES is followed by its one USCK, ULSN or
        // ISCK. The FDES's inode is the socket's (93001), not its socket file's (91500).
        var path = PathListener(fd: 3);
        var @abstract = AbstractListener(fd: 5);
        var tcp = Listener(fd: 6);
        var unix = new UnixSocket(7, 88123, 0, UnixSocketType.Stream, UnixSocket.ReceiveShut | UnixSocket.SendShut, 4608, 4608, 0, -1, 0);
        FileDescriptor Fd(int fd, ulong inode, ulong description) =>
            new(fd, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802 /* O_RDWR | O_NONBLOCK */, 0, 0xc1ff, 0x8, inode, 0, description, 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]"));
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(Fd(3, 93001, 1));
            writer.Write(path);
            writer.Write(new FileOwner(3, FileOwnerKind.Process, 7, 0));
            writer.Write(Fd(4, 93001, 1)); // a dup of 3
            writer.Write(Fd(5, 93002, 2));
            writer.Write(@abstract);
            writer.Write(Fd(6, 91001, 3));
            writer.Write(tcp);
            writer.Write(Fd(7, 88123, 4));
            writer.Write(unix);
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(Fd(9, 93001, 1));
            writer.Write(path with { Fd = 9 });
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }
        byte[] bytes = file.ToArray();

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "ULSN", "FOWN", "FDES", "FDES", "ULSN", "FDES", "ISCK", "FDES", "USCK", "PROC",
            "PROC", "PINF", "FDES", "ULSN", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Equal(FileKind.Socket, Assert.IsType<FileDescriptor>(read[2]).Kind);
        Assert.Null(ItemComparer.Difference(path, read[3]));
        Assert.Null(ItemComparer.Difference(@abstract, read[7]));
        Assert.Null(ItemComparer.Difference(tcp, read[9]));
        var child = Assert.IsType<UnixListener>(read[16]);
        Assert.Equal(9, child.Fd);
        Assert.Null(ItemComparer.Difference(path with { Fd = 9 }, child));

        // The tree: the name as an escaped byte string (an abstract name's NULs as \x00), device and inode as numbers, options
        // and mode in hex.
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("ULSN @", tree);
        Assert.Contains("fd=3 type=1 name=\"/run/cryo-test/ctl.sock\" backlog=128 options=0x1 file_device=2051 file_inode=91500 file_mode=0xc1ed file_uid=1000 file_gid=100\n", tree);
        Assert.Contains("fd=5 type=5 name=\"\\x00cryo\\x00\" backlog=4096 options=0x0 file_device=0 file_inode=0 file_mode=0x0 file_uid=0 file_gid=0\n", tree);

        // The JSON: the fields in payload order, the name as the same escaped text.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var items = document.RootElement.GetProperty("items");
            Assert.Equal("ULSN", items[3].GetProperty("tag").GetString());
            var fields = items[3].GetProperty("fields");
            Assert.Equal(["fd", "type", "name", "backlog", "options", "file_device", "file_inode", "file_mode", "file_uid", "file_gid"],
                fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal("/run/cryo-test/ctl.sock", fields.GetProperty("name").GetString());
            Assert.Equal(91_500UL, fields.GetProperty("file_inode").GetUInt64());
            Assert.Equal(0xc1ed, fields.GetProperty("file_mode").GetInt32());
            Assert.Equal("\\x00cryo\\x00", items[7].GetProperty("fields").GetProperty("name").GetString());
        }

        // The golden form: the socket file's device and inode are ids (the same numbers in the child's ULSN), 0 stays 0 for the
        // abstract name, the path takes the path aliases, and the socket's own inode is numbered apart from its file's.
        var (_, golden, _) = CryoDump.Run(["--normalize", "--path-alias", "/run/cryo-test=<run>", "-"], bytes);
        var ids = System.Text.RegularExpressions.Regex.Match(golden,
            @"ULSN fd=3 type=1 name=""<run>/ctl.sock"" backlog=128 options=0x1 file_device=([DI]\d+) file_inode=(I\d+) file_mode=0xc1ed file_uid=1000 file_gid=100\n");
        Assert.True(ids.Success, golden);
        Assert.Contains($"ULSN fd=9 type=1 name=\"<run>/ctl.sock\" backlog=128 options=0x1 file_device={ids.Groups[1].Value} file_inode={ids.Groups[2].Value} ", golden);
        Assert.Contains("ULSN fd=5 type=5 name=\"\\x00cryo\\x00\" backlog=4096 options=0x0 file_device=0 file_inode=0 ", golden);
        var inode = System.Text.RegularExpressions.Regex.Match(golden, @"FDES fd=3 kind=6 [^\n]* inode=(I\d+) ");
        Assert.True(inode.Success, golden);
        Assert.NotEqual(inode.Groups[1].Value, ids.Groups[2].Value);
        Assert.Contains($"path=\"socket:[{inode.Groups[1].Value}]\"", golden);

        // The summary lists the descriptors; its sockets are the pairs alone (one here): a listener has no peer and no bytes.
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], bytes);
        Assert.Contains("fd 3: Socket socket:[93001]", summary);
        Assert.Contains("fd 5: Socket socket:[93002]", summary);
        Assert.Contains("sockets: 1\n", summary);
    }

    /// <summary>The 16 bytes of an ISCK address: an IPv4 address's 4 and 12 zero bytes, or an IPv6 address's 16.</summary>
    private static byte[] IpBytes(string text)
    {
        byte[] bytes = System.Net.IPAddress.Parse(text).GetAddressBytes();
        return bytes.Length == 16 ? bytes : [.. bytes, .. new byte[12]];
    }

    /// <summary>A web server's listener on 127.0.0.1:8080: SO_REUSEADDR and TCP_NODELAY, backlog 511, accept deferred 1 s, a Fast Open queue of 256.</summary>
    private static InetSocket Listener(int fd = 5) =>
        new(fd, InetSocket.Inet, 8080, IpBytes("127.0.0.1"), 0, 511, InetSocket.ReuseAddress | InetSocket.NoDelay, 1, 256);

    [Fact]
    public void Listening_sockets_round_trip_and_bad_fields_are_rejected()
    {
        var socket = Listener();
        Assert.True(socket.IsCritical);
        var back = Assert.IsType<InetSocket>(RawCheckpoint.ReadAll(InProcess("ISCK", Encoded(socket)))[2]);
        Assert.Null(ItemComparer.Difference(socket, back));
        Assert.Equal(socket.Address, back.Address);
        Assert.Equal("127.0.0.1", back.AddressText);
        // IPv6: a link-local address with its scope and every option bit, IPV6_V6ONLY among them; the wildcard, backlog 0
        // (unknown); an IPv4-mapped address; the largest values. IPv4: the wildcard with every option an IPv4 socket can have.
        var edges = new[]
        {
            new InetSocket(0, InetSocket.Inet6, 443, IpBytes("fe80::1"), 2, 4096, 0x1f, 0, 0),
            new InetSocket(3, InetSocket.Inet6, 0, new byte[16], 0, 0, 0, 0, 0),
            new InetSocket(4, InetSocket.Inet6, 22, IpBytes("::ffff:192.0.2.1"), 0, 128, InetSocket.KeepAlive, 0, 0),
            new InetSocket(int.MaxValue, InetSocket.Inet6, ushort.MaxValue, [.. Enumerable.Repeat((byte)0xff, 16)], uint.MaxValue, uint.MaxValue, 0x1f,
                uint.MaxValue, uint.MaxValue),
            new InetSocket(0, InetSocket.Inet, 0, new byte[16], 0, 0,
                InetSocket.ReuseAddress | InetSocket.ReusePort | InetSocket.KeepAlive | InetSocket.NoDelay, 0, 0),
        };
        foreach (var edge in edges)
        {
            var read = Assert.IsType<InetSocket>(RawCheckpoint.ReadAll(InProcess("ISCK", Encoded(edge)))[2]);
            Assert.Null(ItemComparer.Difference(edge, read));
            Assert.Equal(edge.Address, read.Address);
            Assert.Equal((edge.Family, edge.Port, edge.ScopeId, edge.Backlog, edge.Options), (read.Family, read.Port, read.ScopeId, read.Backlog, read.Options));
        }
        Assert.Equal(["fe80::1", "::", "::ffff:192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0"], edges.Select(e => e.AddressText));

        byte[] payload = Encoded(socket);
        Assert.Equal(43, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("ISCK", Patch(payload, offset, bytes));
        // fd 0, family 4, port 5, address 7, scope_id 23, backlog 27, options 31, defer_accept 35, fastopen_queue 39. The port is
        // little-endian like every field; the address is in network order.
        Assert.Equal(new byte[] { 0x90, 0x1f }, payload[5..7]);
        Assert.Equal(new byte[] { 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, payload[7..23]);
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'ISCK'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        Rejects(Patched(4, 0), "field 'family' has invalid value 0", "only 2 (AF_INET) and 10 (AF_INET6)");
        Rejects(Patched(4, 1), "field 'family' has invalid value 1"); // AF_UNIX: a Unix socket is a USCK
        Rejects(Patched(4, 3), "field 'family' has invalid value 3");
        Rejects(Patched(4, 0xff), "field 'family' has invalid value 255");
        Rejects(Patched(11, 1), "field 'address' has invalid value 7F000001010000000000000000000000", "the first 4 bytes, the rest 0");
        Rejects(Patched(22, 0x80), "field 'address' has invalid value 7F000001000000000000000000000080");
        Rejects(Patched(17, 0xff, 0xff), "field 'address' has invalid value 7F000001000000000000FFFF00000000"); // 0xffff where IPv4-mapped has it
        Rejects(Patched(23, 1), "field 'scope_id' has invalid value 1", "an IPv4 socket has no scope");
        Rejects(Patched(23, 0, 0, 0, 0x80), "field 'scope_id' has invalid value 2147483648");
        Rejects(Patched(31, 0x20), "field 'options' has invalid value 0x20", "only bits 0x1 to 0x10 are defined");
        Rejects(Patched(31, 0x11, 0, 0, 0x80), "field 'options' has invalid value 0x80000011");
        Rejects(Patched(31, 0x08), "field 'options' has invalid value 0x8", "IPV6_V6ONLY (0x8) is for IPv6 sockets");
        Rejects(Patched(31, 0x1f), "field 'options' has invalid value 0x1f", "IPV6_V6ONLY");
        // The first failing check wins, in field order: the address before the scope, the unknown bits before IPV6_V6ONLY.
        Rejects(InProcess("ISCK", Patch(Patch(payload, 11, 1), 23, 1)), "field 'address'");
        Rejects(Patched(31, 0x28), "field 'options' has invalid value 0x28", "only bits 0x1 to 0x10");
        // The family decides: the same bytes as IPv6 (7f00:1:100::, with a scope and IPV6_V6ONLY) are a valid socket.
        var six = Assert.IsType<InetSocket>(RawCheckpoint.ReadAll(InProcess("ISCK",
            Patch(Patch(Patch(Patch(payload, 4, InetSocket.Inet6), 11, 1), 23, 1), 31, 0x08)))[2]);
        Assert.Equal((InetSocket.Inet6, 1u, InetSocket.V6Only), (six.Family, six.ScopeId, six.Options));
        Assert.Equal("7f00:1:100::", six.AddressText);
        // Cut short, or a byte too many.
        Rejects(InProcess("ISCK", payload[..42]), "field 'fastopen_queue' needs 4 bytes but only 3 remain");
        Rejects(InProcess("ISCK", payload[..31]), "field 'options' needs 4 bytes but only 0 remain");
        Rejects(InProcess("ISCK", payload[..22]), "field 'address' needs 16 bytes but only 15 remain");
        Rejects(InProcess("ISCK", payload[..6]), "field 'port' needs 2 bytes but only 1 remain");
        Rejects(InProcess("ISCK", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("ISCK", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("ISCK", Encoded(new UnixSocket(5, 88123, 88124, UnixSocketType.Stream, 0, 0, 0, 0, -1, 0))),
            "field 'family' has invalid value 59"); // a USCK's payload under this tag: the low byte of socket_id 0x1583b read as the family
        // In the wrong place.
        Rejects(InProcess("ISCK", payload, inThread: true), "'ISCK'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(socket).Complete(), "'ISCK'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(socket).End("FIFO").Complete(), "'ISCK'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Listening_sockets_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of the description in each process (kind 6, socket:[INODE]), its ISCK, then its FOWN.
        // A dup has none; a child that inherited the listener has an ISCK of its own, equal but for fd. An IPv6 listener and a
        // Unix socket pair end stand beside it: each socket FDES is followed by its one USCK or ISCK.
        var v4 = Listener(fd: 3);
        var v6 = new InetSocket(5, InetSocket.Inet6, 443, IpBytes("2001:db8::1"), 0, 4096,
            InetSocket.V6Only | InetSocket.ReusePort | InetSocket.KeepAlive, 0, 0);
        var unix = new UnixSocket(6, 88123, 0, UnixSocketType.Stream, UnixSocket.ReceiveShut | UnixSocket.SendShut, 4608, 4608, 0, -1, 0);
        FileDescriptor Fd(int fd, ulong inode, ulong description) =>
            new(fd, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802 /* O_RDWR | O_NONBLOCK */, 0, 0xc1ff, 0x8, inode, 0, description, 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]"));
        byte[] Write(ushort port)
        {
            var file = new MemoryStream();
            using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
            {
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process());
                writer.Write(Fd(3, 91001, 1));
                writer.Write(v4 with { Port = port });
                writer.Write(new FileOwner(3, FileOwnerKind.Process, 7, 0));
                writer.Write(Fd(4, 91001, 1)); // a dup of 3
                writer.Write(Fd(5, 91002, 2));
                writer.Write(v6);
                writer.Write(Fd(6, 88123, 3));
                writer.Write(unix);
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process(8));
                writer.Write(Fd(7, 91001, 1));
                writer.Write(v4 with { Fd = 7, Port = port });
                writer.EndSection(ItemKinds.Process);
                writer.Complete();
            }
            return file.ToArray();
        }
        byte[] bytes = Write(8080);

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "ISCK", "FOWN", "FDES", "FDES", "ISCK", "FDES", "USCK", "PROC", "PROC", "PINF", "FDES", "ISCK", "PROC"],
            read.Select(i => i.Tag.ToString()));
        Assert.Equal(FileKind.Socket, Assert.IsType<FileDescriptor>(read[2]).Kind);
        Assert.Null(ItemComparer.Difference(v4, read[3]));
        Assert.Null(ItemComparer.Difference(v6, read[7]));
        var child = Assert.IsType<InetSocket>(read[14]);
        Assert.Equal(7, child.Fd);
        Assert.Null(ItemComparer.Difference(v4 with { Fd = 7 }, child));

        // The tree shows the address as text, the port as the volatile number it is (in hex).
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("ISCK @", tree);
        Assert.Contains("fd=3 family=2 port=0x1f90 address=\"127.0.0.1\" scope_id=0 backlog=511 options=0x11 defer_accept=1 fastopen_queue=256\n", tree);
        Assert.Contains("fd=5 family=10 port=0x1bb address=\"2001:db8::1\" scope_id=0 backlog=4096 options=0xe defer_accept=0 fastopen_queue=0\n", tree);

        // The JSON keeps the port as its number and the address as text.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var fields = document.RootElement.GetProperty("items")[3].GetProperty("fields");
            Assert.Equal("ISCK", document.RootElement.GetProperty("items")[3].GetProperty("tag").GetString());
            Assert.Equal(["fd", "family", "port", "address", "scope_id", "backlog", "options", "defer_accept", "fastopen_queue"],
                fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal(8080, fields.GetProperty("port").GetInt32());
            Assert.Equal("127.0.0.1", fields.GetProperty("address").GetString());
            Assert.Equal(0x11, fields.GetProperty("options").GetInt32());
        }

        // The golden form: a port differs from run to run (a test's listener takes whichever is free), so it is <var>, and a
        // file that differs in its ports alone gives the same text; the address, options and backlog stay. The socket's inode
        // is numbered as an id, in its FDES and in its path alike.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], bytes);
        Assert.Contains("ISCK fd=3 family=2 port=<var> address=\"127.0.0.1\" scope_id=0 backlog=511 options=0x11 defer_accept=1 fastopen_queue=256\n", golden);
        Assert.Contains("ISCK fd=5 family=10 port=<var> address=\"2001:db8::1\" scope_id=0 backlog=4096 options=0xe defer_accept=0 fastopen_queue=0\n", golden);
        Assert.Contains("ISCK fd=7 family=2 port=<var> address=\"127.0.0.1\" ", golden);
        Assert.DoesNotContain("8080", golden);
        Assert.DoesNotContain("0x1f90", golden);
        var inode = System.Text.RegularExpressions.Regex.Match(golden, @"FDES fd=3 kind=6 [^\n]* inode=(I\d+) ");
        Assert.True(inode.Success, golden);
        Assert.Contains($"path=\"socket:[{inode.Groups[1].Value}]\"", golden);
        var (_, otherPorts, _) = CryoDump.Run(["--normalize", "-"], Write(40123));
        Assert.Equal(golden, otherPorts);
        var (_, otherTree, _) = CryoDump.Run(["-"], Write(40123));
        Assert.NotEqual(tree, otherTree); // the raw forms show the port
        Assert.Contains("port=0x9cbb ", otherTree);
    }

    /// <summary>A statsd client: connected to 127.0.0.1:8125 from the port its connect picked (40123), the default buffers, DSCP EF (tos 0xb8).</summary>
    private static InetDatagramSocket StatsdClient(int fd = 5, ushort localPort = 40123) =>
        new(fd, InetSocket.Inet, localPort, IpBytes("127.0.0.1"), 0, 8125, IpBytes("127.0.0.1"), 0, 0, 212_992, 212_992, 0xb8);

    [Fact]
    public void Udp_sockets_round_trip_and_bad_fields_are_rejected()
    {
        var socket = StatsdClient();
        Assert.True(socket.IsCritical);
        Assert.True(socket.IsBound && socket.IsConnected);
        var back = Assert.IsType<InetDatagramSocket>(RawCheckpoint.ReadAll(InProcess("UDPS", Encoded(socket)))[2]);
        Assert.Null(ItemComparer.Difference(socket, back));
        Assert.Equal(socket.LocalAddress, back.LocalAddress);
        Assert.Equal(socket.PeerAddress, back.PeerAddress);
        Assert.Equal(("127.0.0.1", "127.0.0.1"), (back.AddressText(back.LocalAddress), back.AddressText(back.PeerAddress)));
        // IPv4: a socket neither bound nor connected (it has not sent yet: all zero); a DNS server on the wildcard with
        // SO_REUSEADDR and SO_REUSEPORT, not connected; a broadcaster with SO_BROADCAST and the largest buffers. IPv6: an mDNS
        // responder on a link-local address with its scope and IPV6_V6ONLY; a dual-stack client connected to an IPv4-mapped
        // peer; the largest values (every option bit, tos 0xff). What the reader takes and writers do not write: a local
        // address with port 0 (bound without a port, IP_BIND_ADDRESS_NO_PORT), a peer address and scope with port 0.
        var edges = new[]
        {
            new InetDatagramSocket(0, InetSocket.Inet, 0, new byte[16], 0, 0, new byte[16], 0, 0, 212_992, 212_992, 0),
            new InetDatagramSocket(3, InetSocket.Inet, 53, IpBytes("0.0.0.0"), 0, 0, new byte[16], 0,
                InetDatagramSocket.ReuseAddress | InetDatagramSocket.ReusePort, 212_992, 425_984, 0),
            new InetDatagramSocket(4, InetSocket.Inet, 9999, IpBytes("192.0.2.1"), 0, 9999, IpBytes("192.0.2.255"), 0,
                InetDatagramSocket.Broadcast, uint.MaxValue, uint.MaxValue, 0),
            new InetDatagramSocket(5, InetSocket.Inet6, 5353, IpBytes("fe80::1"), 2, 0, new byte[16], 0,
                InetDatagramSocket.V6Only | InetDatagramSocket.ReuseAddress, 4608, 2304, 0),
            new InetDatagramSocket(6, InetSocket.Inet6, 40124, IpBytes("::ffff:127.0.0.1"), 0, 53, IpBytes("::ffff:192.0.2.1"), 0, 0, 212_992, 212_992, 0x2e),
            new InetDatagramSocket(int.MaxValue, InetSocket.Inet6, ushort.MaxValue, [.. Enumerable.Repeat((byte)0xff, 16)], uint.MaxValue,
                ushort.MaxValue, [.. Enumerable.Repeat((byte)0xff, 16)], uint.MaxValue, 0xf, uint.MaxValue, uint.MaxValue, 0xff),
            new InetDatagramSocket(7, InetSocket.Inet, 0, IpBytes("10.1.2.3"), 0, 0, IpBytes("192.0.2.7"), 0, 0, 0, 0, 0),
            new InetDatagramSocket(8, InetSocket.Inet6, 123, IpBytes("2001:db8::9"), 0, 0, IpBytes("fe80::2"), 4, 0, 1, 1, 1),
        };
        foreach (var edge in edges)
        {
            var read = Assert.IsType<InetDatagramSocket>(RawCheckpoint.ReadAll(InProcess("UDPS", Encoded(edge)))[2]);
            Assert.Null(ItemComparer.Difference(edge, read));
            Assert.Equal(edge.LocalAddress, read.LocalAddress);
            Assert.Equal(edge.PeerAddress, read.PeerAddress);
            Assert.Equal((edge.Family, edge.LocalPort, edge.LocalScopeId, edge.PeerPort, edge.PeerScopeId, edge.Options, edge.SendBuffer, edge.ReceiveBuffer,
                edge.TypeOfService), (read.Family, read.LocalPort, read.LocalScopeId, read.PeerPort, read.PeerScopeId, read.Options, read.SendBuffer,
                read.ReceiveBuffer, read.TypeOfService));
        }
        Assert.Equal(["0.0.0.0", "0.0.0.0", "192.0.2.1", "fe80::1", "::ffff:127.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "10.1.2.3", "2001:db8::9"],
            edges.Select(e => e.AddressText(e.LocalAddress)));
        Assert.Equal(["0.0.0.0", "0.0.0.0", "192.0.2.255", "::", "::ffff:192.0.2.1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "192.0.2.7", "fe80::2"],
            edges.Select(e => e.AddressText(e.PeerAddress)));
        Assert.Equal([false, true, true, true, true, true, false, true], edges.Select(e => e.IsBound));
        Assert.Equal([false, false, true, false, true, true, false, false], edges.Select(e => e.IsConnected));

        byte[] payload = Encoded(socket);
        Assert.Equal(65, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("UDPS", Patch(payload, offset, bytes));
        // fd 0, family 4, local_port 5, local_address 7, local_scope_id 23, peer_port 27, peer_address 29, peer_scope_id 45,
        // options 49, send_buffer 53, receive_buffer 57, tos 61. The ports are little-endian like every field; the addresses are
        // in network order.
        Assert.Equal(new byte[] { 0xbb, 0x9c }, payload[5..7]);
        Assert.Equal(IpBytes("127.0.0.1"), payload[7..23]);
        Assert.Equal(new byte[] { 0xbd, 0x1f }, payload[27..29]);
        Assert.Equal(IpBytes("127.0.0.1"), payload[29..45]);
        Assert.Equal(new byte[] { 0xb8, 0, 0, 0 }, payload[61..65]);
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'UDPS'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        Rejects(Patched(4, 0), "field 'family' has invalid value 0", "only 2 (AF_INET) and 10 (AF_INET6)");
        Rejects(Patched(4, 1), "field 'family' has invalid value 1"); // AF_UNIX: a Unix socket is a USCK
        Rejects(Patched(4, 3), "field 'family' has invalid value 3");
        Rejects(Patched(4, 0xff), "field 'family' has invalid value 255");
        // IPv4 with bytes past the first 4, at either end.
        Rejects(Patched(11, 1), "field 'local_address' has invalid value 7F000001010000000000000000000000", "the first 4 bytes, the rest 0");
        Rejects(Patched(22, 0x80), "field 'local_address' has invalid value 7F000001000000000000000000000080");
        Rejects(Patched(33, 1), "field 'peer_address' has invalid value 7F000001010000000000000000000000", "the first 4 bytes, the rest 0");
        Rejects(Patched(44, 0x80), "field 'peer_address' has invalid value 7F000001000000000000000000000080");
        Rejects(Patched(39, 0xff, 0xff), "field 'peer_address' has invalid value 7F000001000000000000FFFF00000000"); // 0xffff where IPv4-mapped has it
        // IPv4 with a scope, at either end.
        Rejects(Patched(23, 1), "field 'local_scope_id' has invalid value 1", "an IPv4 socket has no scope");
        Rejects(Patched(45, 0, 0, 0, 0x80), "field 'peer_scope_id' has invalid value 2147483648", "an IPv4 socket has no scope");
        // Connected but not bound: connecting gives a socket its port.
        Rejects(Patched(5, 0, 0), "field 'local_port' has invalid value 0", "a connected socket is bound");
        Rejects(InProcess("UDPS", Encoded(socket with { LocalPort = 0, PeerPort = 1 })), "field 'local_port' has invalid value 0");
        Rejects(InProcess("UDPS", Encoded(edges[5] with { LocalPort = 0 })), "field 'local_port' has invalid value 0"); // IPv6 too
        // Unknown options, and IPV6_V6ONLY on IPv4.
        Rejects(Patched(49, 0x10), "field 'options' has invalid value 0x10", "only bits 0x1 to 0x8 are defined");
        Rejects(Patched(49, 0x07, 0, 0, 0x80), "field 'options' has invalid value 0x80000007");
        Rejects(Patched(49, 0x08), "field 'options' has invalid value 0x8", "IPV6_V6ONLY (0x8) is for IPv6 sockets");
        Rejects(Patched(49, 0x0f), "field 'options' has invalid value 0xf", "IPV6_V6ONLY");
        // A type of service is one byte.
        Rejects(Patched(61, 0, 1), "field 'tos' has invalid value 256", "a type of service (traffic class) is one byte");
        Rejects(Patched(61, 0xff, 0xff, 0xff, 0xff), "field 'tos' has invalid value 4294967295");
        // The first failing check wins, in field order: the local address before its scope; the peer's address before the
        // connected socket's local port; that before the options; the unknown bits before IPV6_V6ONLY; the options before tos.
        Rejects(InProcess("UDPS", Patch(Patch(payload, 11, 1), 23, 1)), "field 'local_address'");
        Rejects(InProcess("UDPS", Patch(Patch(payload, 5, 0, 0), 33, 1)), "field 'peer_address'");
        Rejects(InProcess("UDPS", Patch(Patch(payload, 5, 0, 0), 45, 1)), "field 'peer_scope_id'");
        Rejects(InProcess("UDPS", Patch(Patch(payload, 5, 0, 0), 49, 0x10)), "field 'local_port' has invalid value 0");
        Rejects(Patched(49, 0x18), "field 'options' has invalid value 0x18", "only bits 0x1 to 0x8");
        Rejects(InProcess("UDPS", Patch(Patch(payload, 49, 0x10), 61, 0, 1)), "field 'options'");
        // Neither bound nor connected: the reader takes the addresses that stay (writers write the wildcard).
        var idle = Assert.IsType<InetDatagramSocket>(RawCheckpoint.ReadAll(InProcess("UDPS", Patch(Patch(payload, 5, 0, 0), 27, 0, 0)))[2]);
        Assert.Equal((false, false, "127.0.0.1"), (idle.IsBound, idle.IsConnected, idle.AddressText(idle.PeerAddress)));
        // The family decides: the same bytes as IPv6 (with scopes and IPV6_V6ONLY) are a valid socket.
        var six = Assert.IsType<InetDatagramSocket>(RawCheckpoint.ReadAll(InProcess("UDPS",
            Patch(Patch(Patch(Patch(Patch(Patch(payload, 4, InetSocket.Inet6), 11, 1), 23, 1), 44, 0x80), 45, 2), 49, 0x08)))[2]);
        Assert.Equal((InetSocket.Inet6, 1u, 2u, InetDatagramSocket.V6Only), (six.Family, six.LocalScopeId, six.PeerScopeId, six.Options));
        Assert.Equal(("7f00:1:100::", "7f00:1::80"), (six.AddressText(six.LocalAddress), six.AddressText(six.PeerAddress)));
        // Cut short, or bytes too many.
        Rejects(InProcess("UDPS", payload[..64]), "field 'tos' needs 4 bytes but only 3 remain");
        Rejects(InProcess("UDPS", payload[..57]), "field 'receive_buffer' needs 4 bytes but only 0 remain");
        Rejects(InProcess("UDPS", payload[..49]), "field 'options' needs 4 bytes but only 0 remain");
        Rejects(InProcess("UDPS", payload[..47]), "field 'peer_scope_id' needs 4 bytes but only 2 remain");
        Rejects(InProcess("UDPS", payload[..44]), "field 'peer_address' needs 16 bytes but only 15 remain");
        Rejects(InProcess("UDPS", payload[..27]), "field 'peer_port' needs 2 bytes but only 0 remain");
        Rejects(InProcess("UDPS", payload[..22]), "field 'local_address' needs 16 bytes but only 15 remain");
        Rejects(InProcess("UDPS", payload[..6]), "field 'local_port' needs 2 bytes but only 1 remain");
        Rejects(InProcess("UDPS", payload[..4]), "field 'family' needs 1 bytes but only 0 remain");
        Rejects(InProcess("UDPS", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("UDPS", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("UDPS", [.. payload, 0, 0, 0, 0]), "4 unexpected bytes after the last field");
        // An ISCK's payload under this tag: its backlog read as the peer's port, and 14 bytes left for the peer's address. A
        // UDPS's payload under ISCK's tag: the peer's port and address read as backlog and options.
        Rejects(InProcess("UDPS", Encoded(Listener())), "field 'peer_address' needs 16 bytes but only 14 remain");
        Rejects(InProcess("ISCK", payload), "'ISCK'", "field 'options' has invalid value 0x100");
        // In the wrong place.
        Rejects(InProcess("UDPS", payload, inThread: true), "'UDPS'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(socket).Complete(), "'UDPS'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(socket).End("FIFO").Complete(), "'UDPS'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Udp_sockets_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of the description in each process (kind 6, socket:[INODE]), its UDPS, then its FOWN.
        // A dup has none; a child that inherited the client has a UDPS of its own, equal but for fd. An IPv6 server bound and not
        // connected, a socket neither bound nor connected and a TCP listener stand beside it: each socket FDES is followed by its
        // one UDPS or ISCK.
        var server = new InetDatagramSocket(5, InetSocket.Inet6, 53, IpBytes("2001:db8::1"), 0, 0, new byte[16], 0,
            InetDatagramSocket.V6Only | InetDatagramSocket.ReuseAddress | InetDatagramSocket.ReusePort, 4608, 425_984, 0);
        var idle = new InetDatagramSocket(7, InetSocket.Inet, 0, new byte[16], 0, 0, new byte[16], 0, InetDatagramSocket.Broadcast, 212_992, 212_992, 0);
        FileDescriptor Fd(int fd, ulong inode, ulong description) =>
            new(fd, FileKind.Socket, FileDescriptor.CloseOnExec, 0x802 /* O_RDWR | O_NONBLOCK */, 0, 0xc1ff, 0x8, inode, 0, description, 0,
                Encoding.ASCII.GetBytes($"socket:[{inode}]"));
        byte[] Write(ushort clientPort, ushort serverPort)
        {
            var file = new MemoryStream();
            using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
            {
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process());
                writer.Write(Fd(3, 95001, 1));
                writer.Write(StatsdClient(3, clientPort));
                writer.Write(new FileOwner(3, FileOwnerKind.Process, 7, 0));
                writer.Write(Fd(4, 95001, 1)); // a dup of 3
                writer.Write(Fd(5, 95002, 2));
                writer.Write(server with { LocalPort = serverPort });
                writer.Write(Fd(6, 95003, 3));
                writer.Write(Listener(6));
                writer.Write(Fd(7, 95004, 4));
                writer.Write(idle);
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Process(8));
                writer.Write(Fd(9, 95001, 1));
                writer.Write(StatsdClient(9, clientPort));
                writer.EndSection(ItemKinds.Process);
                writer.Complete();
            }
            return file.ToArray();
        }
        byte[] bytes = Write(40123, 53);

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "FDES", "UDPS", "FOWN", "FDES", "FDES", "UDPS", "FDES", "ISCK", "FDES", "UDPS", "PROC",
            "PROC", "PINF", "FDES", "UDPS", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Equal(FileKind.Socket, Assert.IsType<FileDescriptor>(read[2]).Kind);
        Assert.Null(ItemComparer.Difference(StatsdClient(3), read[3]));
        Assert.Null(ItemComparer.Difference(server, read[7]));
        Assert.Null(ItemComparer.Difference(idle, read[11]));
        var child = Assert.IsType<InetDatagramSocket>(read[16]);
        Assert.Equal(9, child.Fd);
        Assert.Null(ItemComparer.Difference(StatsdClient(9), child));

        // The tree shows the addresses as text, the ports as the volatile numbers they are (in hex).
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("UDPS @", tree);
        Assert.Contains("fd=3 family=2 local_port=0x9cbb local_address=\"127.0.0.1\" local_scope_id=0 peer_port=0x1fbd peer_address=\"127.0.0.1\" " +
            "peer_scope_id=0 options=0x0 send_buffer=212992 receive_buffer=212992 tos=0xb8\n", tree);
        Assert.Contains("fd=5 family=10 local_port=0x35 local_address=\"2001:db8::1\" local_scope_id=0 peer_port=0x0 peer_address=\"::\" " +
            "peer_scope_id=0 options=0xb send_buffer=4608 receive_buffer=425984 tos=0x0\n", tree);
        Assert.Contains("fd=7 family=2 local_port=0x0 local_address=\"0.0.0.0\" local_scope_id=0 peer_port=0x0 peer_address=\"0.0.0.0\" " +
            "peer_scope_id=0 options=0x4 send_buffer=212992 receive_buffer=212992 tos=0x0\n", tree);

        // The JSON keeps the ports as numbers and the addresses as text.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var item = document.RootElement.GetProperty("items")[3];
            Assert.Equal("UDPS", item.GetProperty("tag").GetString());
            Assert.True(item.GetProperty("critical").GetBoolean());
            var fields = item.GetProperty("fields");
            Assert.Equal(["fd", "family", "local_port", "local_address", "local_scope_id", "peer_port", "peer_address", "peer_scope_id", "options",
                "send_buffer", "receive_buffer", "tos"], fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal(40123, fields.GetProperty("local_port").GetInt32());
            Assert.Equal(8125, fields.GetProperty("peer_port").GetInt32());
            Assert.Equal("127.0.0.1", fields.GetProperty("local_address").GetString());
            Assert.Equal("127.0.0.1", fields.GetProperty("peer_address").GetString());
            Assert.Equal(0xb8, fields.GetProperty("tos").GetInt32());
            Assert.Equal("::", document.RootElement.GetProperty("items")[7].GetProperty("fields").GetProperty("peer_address").GetString());
        }

        // The golden form: ports differ from run to run (a test's socket takes whichever is free, and a client's connect picks
        // one), so both are <var>, 0 included, and a file that differs in its ports alone gives the same text; the addresses,
        // options, buffers and tos stay. The socket's inode is numbered as an id, in its FDES and in its path alike.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], bytes);
        Assert.Contains("UDPS fd=3 family=2 local_port=<var> local_address=\"127.0.0.1\" local_scope_id=0 peer_port=<var> peer_address=\"127.0.0.1\" " +
            "peer_scope_id=0 options=0x0 send_buffer=212992 receive_buffer=212992 tos=0xb8\n", golden);
        Assert.Contains("UDPS fd=5 family=10 local_port=<var> local_address=\"2001:db8::1\" local_scope_id=0 peer_port=<var> peer_address=\"::\" ", golden);
        Assert.Contains("UDPS fd=7 family=2 local_port=<var> local_address=\"0.0.0.0\" local_scope_id=0 peer_port=<var> peer_address=\"0.0.0.0\" ", golden);
        Assert.Contains("UDPS fd=9 family=2 local_port=<var> local_address=\"127.0.0.1\" ", golden);
        Assert.DoesNotContain("40123", golden);
        Assert.DoesNotContain("0x9cbb", golden);
        Assert.DoesNotContain("0x1fbd", golden);
        var inode = System.Text.RegularExpressions.Regex.Match(golden, @"FDES fd=3 kind=6 [^\n]* inode=(I\d+) ");
        Assert.True(inode.Success, golden);
        Assert.Contains($"path=\"socket:[{inode.Groups[1].Value}]\"", golden);
        var (_, otherPorts, _) = CryoDump.Run(["--normalize", "-"], Write(51234, 5353));
        Assert.Equal(golden, otherPorts);
        var (_, otherTree, _) = CryoDump.Run(["-"], Write(51234, 5353));
        Assert.NotEqual(tree, otherTree); // the raw forms show the ports
        Assert.Contains("local_port=0xc822 ", otherTree);
        Assert.Contains("local_port=0x14e9 ", otherTree);

        // The summary lists the descriptors; it has no socket pairs to show (UDP sockets show only as their descriptors).
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], bytes);
        Assert.Contains("fd 3: Socket socket:[95001]", summary);
        Assert.Contains("fd 5: Socket socket:[95002]", summary);
        Assert.Contains("fd 9: Socket socket:[95001]", summary);
        Assert.DoesNotContain("sockets:", summary);
    }

    /// <summary>The control characters of a terminal as `stty sane` leaves them: ^C ^\ DEL ^U ^D, VMIN 1, ^Q ^S ^Z ^R ^O ^W ^V.</summary>
    private static readonly byte[] SaneControlChars = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0];

    /// <summary>A shell's job in the foreground of its terminal: ICRNL | IXON | IUTF8, OPOST | ONLCR, B38400 | CS8 | CREAD, ISIG | ICANON | ECHO …, 132x50.</summary>
    private static TerminalState ForegroundTerminal(int fd = 0) =>
        new(fd, TerminalState.Controlling | TerminalState.Foreground, 0x4500, 0x5, 0xbf, 0x8a3b, 0, SaneControlChars, 38400, 38400, 50, 132, 0, 0);

    [Fact]
    public void Terminal_states_round_trip_and_bad_fields_are_rejected()
    {
        var terminal = ForegroundTerminal();
        Assert.True(terminal.IsCritical);
        Assert.True(terminal.IsControlling && terminal.IsForeground);
        var back = Assert.IsType<TerminalState>(RawCheckpoint.ReadAll(InProcess("TTYS", Encoded(terminal)))[2]);
        Assert.Null(ItemComparer.Difference(terminal, back));
        Assert.Equal(SaneControlChars, back.ControlChars);
        // Flags 0 (a terminal that is not the session's) and 1 (the session's, its group in the background); the largest values.
        foreach (uint flags in new[] { 0u, TerminalState.Controlling })
        {
            var read = Assert.IsType<TerminalState>(RawCheckpoint.ReadAll(InProcess("TTYS", Encoded(terminal with { Flags = flags })))[2]);
            Assert.Equal((flags, flags != 0, false), (read.Flags, read.IsControlling, read.IsForeground));
        }
        var largest = new TerminalState(int.MaxValue, TerminalState.Controlling | TerminalState.Foreground, uint.MaxValue, uint.MaxValue, uint.MaxValue,
            uint.MaxValue, byte.MaxValue, [.. Enumerable.Repeat((byte)0xff, TerminalState.ControlCharCount)], uint.MaxValue, uint.MaxValue,
            ushort.MaxValue, ushort.MaxValue, ushort.MaxValue, ushort.MaxValue);
        Assert.Null(ItemComparer.Difference(largest, RawCheckpoint.ReadAll(InProcess("TTYS", Encoded(largest)))[2]));

        byte[] payload = Encoded(terminal);
        Assert.Equal(60, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("TTYS", Patch(payload, offset, bytes));
        // fd 0, flags 4, iflag 8, oflag 12, cflag 16, lflag 20, line 24, cc 25, ispeed 44, ospeed 48, rows 52, columns 54, xpixel 56, ypixel 58.
        Assert.Equal(SaneControlChars, payload[25..44]);
        Assert.Equal(BitConverter.GetBytes(38400u), payload[44..48]);
        Assert.Equal(BitConverter.GetBytes((ushort)132), payload[54..56]);
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'TTYS'", "field 'fd' has invalid value -1", "not negative");
        Rejects(Patched(0, 0, 0, 0, 0x80), "field 'fd' has invalid value -2147483648");
        Rejects(Patched(4, 4), "field 'flags' has invalid value 0x4", "only bits 0x1 (controlling terminal) and 0x2 (foreground group)");
        Rejects(Patched(4, 7), "field 'flags' has invalid value 0x7", "only bits 0x1");
        Rejects(Patched(4, 3, 0, 0, 0x80), "field 'flags' has invalid value 0x80000003", "only bits 0x1");
        Rejects(Patched(4, 2), "field 'flags' has invalid value 0x2", "bit 0x2 needs bit 0x1"); // the foreground of a terminal it does not control
        Rejects(InProcess("TTYS", payload[..59]), "field 'ypixel' needs 2 bytes but only 1 remain");
        Rejects(InProcess("TTYS", payload[..52]), "field 'rows' needs 2 bytes but only 0 remain");
        Rejects(InProcess("TTYS", payload[..43]), "field 'cc' needs 19 bytes but only 18 remain");
        Rejects(InProcess("TTYS", payload[..24]), "field 'line' needs 1 bytes but only 0 remain");
        Rejects(InProcess("TTYS", payload[..3]), "field 'fd' needs 4 bytes but only 3 remain");
        Rejects(InProcess("TTYS", []), "field 'fd' needs 4 bytes but only 0 remain");
        Rejects(InProcess("TTYS", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("TTYS", payload, inThread: true), "'TTYS'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(terminal).Complete(), "'TTYS'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(terminal).End("FIFO").Complete(), "'TTYS'", "may not stand in section 'FIFO'");
        // The writer's side of the fixed size: struct termios2 has 19 control characters, no fewer and no more.
        Assert.Throws<ArgumentException>(() => Encoded(terminal with { ControlChars = new byte[TerminalState.ControlCharCount - 1] }));
        Assert.Throws<ArgumentException>(() => Encoded(terminal with { ControlChars = new byte[TerminalState.ControlCharCount + 1] }));
    }

    [Fact]
    public void Terminal_descriptors_are_kind_10_and_kind_11_is_rejected()
    {
        var fd = new FileDescriptor(0, FileKind.Terminal, 0, 0x8002, 0, 0x2190 /* crw--w---- */, 0x18, 6, 0x8803 /* 136:3 */, 1, 0, "/dev/pts/3"u8.ToArray());
        var back = Assert.IsType<FileDescriptor>(RawCheckpoint.ReadAll(InProcess("FDES", Encoded(fd)))[2]);
        Assert.Null(ItemComparer.Difference(fd, back));
        Assert.Equal(10, (int)back.Kind);
        Assert.Equal(FileKind.Terminal, back.Kind);
        // fd 0, kind 4.
        Rejects(InProcess("FDES", Patch(Encoded(fd), 4, 11)), "'FDES'", "field 'kind' has invalid value 11", "unknown file kind");
    }

    [Fact]
    public void Terminals_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the first FDES of kind 10 of each terminal (by rdev) in a process, its TTYS, then its FOWN. The
        // other descriptors of that terminal, of the same description (a dup) or of another (opened again), have none;
        // /dev/tty (5:0) is a terminal of its own. A second process on the terminal, in the background, has a TTYS of its own.
        const ulong Pts3 = 0x8803, DevTty = 0x500;
        FileDescriptor Fd(int fd, ulong rdev, ulong description) =>
            new(fd, FileKind.Terminal, 0, 0x8002 /* O_RDWR | O_LARGEFILE */, 0, 0x2190, rdev == DevTty ? 0x5UL : 0x18UL, rdev == DevTty ? 12UL : 6UL, rdev,
                description, 0, rdev == DevTty ? "/dev/tty"u8.ToArray() : "/dev/pts/3"u8.ToArray());
        var foreground = ForegroundTerminal();
        var throughDevTty = ForegroundTerminal(fd: 3);
        var background = ForegroundTerminal() with { Flags = TerminalState.Controlling, Rows = 24, Columns = 80 };
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(Fd(0, Pts3, 1));
            writer.Write(foreground);
            writer.Write(new FileOwner(0, FileOwnerKind.Process, 7, 0));
            writer.Write(Fd(1, Pts3, 1)); // a dup of 0
            writer.Write(Fd(2, Pts3, 2)); // the terminal opened again: another description, the same terminal
            writer.Write(Fd(3, DevTty, 3));
            writer.Write(throughDevTty);
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8) with { SessionId = 7 }); // a job of the session pid 7 leads
            writer.Write(Fd(0, Pts3, 1));
            writer.Write(background);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(file.ToArray());
        Assert.Equal(["PROC", "PINF", "FDES", "TTYS", "FOWN", "FDES", "FDES", "FDES", "TTYS", "PROC", "PROC", "PINF", "FDES", "TTYS", "PROC"],
            read.Select(i => i.Tag.ToString()));
        Assert.Null(ItemComparer.Difference(foreground, read[3]));
        Assert.Null(ItemComparer.Difference(throughDevTty, read[8]));
        var second = Assert.IsType<TerminalState>(read[13]);
        Assert.Equal((true, false, (ushort)24, (ushort)80), (second.IsControlling, second.IsForeground, second.Rows, second.Columns));

        var (code, tree, _) = CryoDump.Run(["-"], file.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("TTYS @", tree);
        Assert.Contains("fd=0 kind=10 fd_flags=0x0 open_flags=0x8002 offset=0 mode=0x2190 device=24 inode=6 rdev=34819 description_id=1 pipe_id=0 path=\"/dev/pts/3\"", tree);
        Assert.Contains("fd=0 flags=0x3 iflag=0x4500 oflag=0x5 cflag=0xbf lflag=0x8a3b line=0 cc=<19 bytes crc32c:", tree);
        Assert.Contains("> ispeed=38400 ospeed=38400 rows=50 columns=132 xpixel=0 ypixel=0\n", tree);
        Assert.Contains("fd=0 flags=0x1 iflag=0x4500 ", tree);

        // The golden form numbers the terminal's rdev as a device, alike in both processes, and keeps the control
        // characters' checksum (they are settings a test checks, as a pipe's bytes are).
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], file.ToArray());
        var rdev = System.Text.RegularExpressions.Regex.Match(golden, @"FDES fd=0 kind=10 .* rdev=(D\d+) description_id=(F\d+) pipe_id=0 path=""/dev/pts/3""");
        Assert.True(rdev.Success, golden);
        string pts = rdev.Groups[1].Value, description = rdev.Groups[2].Value;
        // /dev/pts/3: fd 0, 1 (a dup) and 2 (opened again) of the first process and fd 0 of the second; /dev/tty is another device.
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(golden, $@"kind=10 [^\n]* rdev={pts} ").Count);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(golden, $@"kind=10 [^\n]* rdev={pts} description_id={description} ").Count);
        Assert.Matches($@"FDES fd=3 kind=10 [^\n]* rdev=(?!{pts} )D\d+ [^\n]* path=""/dev/tty""", golden);
        Assert.Matches(@"TTYS fd=0 flags=0x3 iflag=0x4500 oflag=0x5 cflag=0xbf lflag=0x8a3b line=0 cc=<19 bytes crc32c:[0-9a-f]{8}> ispeed=38400 ospeed=38400 rows=50 columns=132 xpixel=0 ypixel=0", golden);
        Assert.Matches(@"TTYS fd=3 flags=0x3 ", golden);

        // The summary lists the terminal descriptors by kind and path, the one they had at the checkpoint.
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], file.ToArray());
        Assert.Contains("fd 0: Terminal /dev/pts/3", summary);
        Assert.Contains("fd 2: Terminal /dev/pts/3", summary);
        Assert.Contains("fd 3: Terminal /dev/tty", summary);
    }

    /// <summary>
    /// A sandbox's filter as programs install it: kill a call of another architecture, refuse execve with EPERM, allow the rest
    /// (BPF_LD|BPF_W|BPF_ABS 0x20, BPF_JMP|BPF_JEQ|BPF_K 0x15, BPF_RET|BPF_K 0x06).
    /// </summary>
    private static readonly BpfInstruction[] NoExec =
    [
        new(0x20, 0, 0, 4), // ld [4]: seccomp_data.arch
        new(0x15, 1, 0, 0xc000003e), // jeq AUDIT_ARCH_X86_64, skip the kill
        new(0x06, 0, 0, 0x8000_0000), // ret SECCOMP_RET_KILL_PROCESS
        new(0x20, 0, 0, 0), // ld [0]: seccomp_data.nr
        new(0x15, 0, 1, 59), // jeq __NR_execve, else skip the refusal
        new(0x06, 0, 0, 0x0005_0001), // ret SECCOMP_RET_ERRNO | EPERM
        new(0x06, 0, 0, 0x7fff_0000), // ret SECCOMP_RET_ALLOW
    ];

    /// <summary>A filter that refuses one system call with EPERM and allows the rest.</summary>
    private static BpfInstruction[] Refusing(uint call) =>
        [new(0x20, 0, 0, 0), new(0x15, 0, 1, call), new(0x06, 0, 0, 0x0005_0001), new(0x06, 0, 0, 0x7fff_0000)];

    [Fact]
    public void Seccomp_filters_round_trip_and_bad_fields_are_rejected()
    {
        var filter = new SeccompFilter(2, 1, SeccompFilter.Log, NoExec);
        Assert.True(filter.IsCritical);
        var back = Assert.IsType<SeccompFilter>(RawCheckpoint.ReadAll(InProcess("SCMF", Encoded(filter)))[2]);
        Assert.Null(ItemComparer.Difference(filter, back));
        Assert.Equal(NoExec, back.Program);
        // The first filter of a chain (parent 0, no flags) with the shortest program; the longest program (BPF_MAXINSNS) with
        // every field at its largest, and the largest ids the reader takes.
        var first = new SeccompFilter(1, 0, 0, [new BpfInstruction(0x06, 0, 0, 0x7fff_0000)]);
        Assert.Null(ItemComparer.Difference(first, RawCheckpoint.ReadAll(InProcess("SCMF", Encoded(first)))[2]));
        var largest = new SeccompFilter(uint.MaxValue, uint.MaxValue - 1, SeccompFilter.Log,
            [.. Enumerable.Repeat(new BpfInstruction(ushort.MaxValue, byte.MaxValue, byte.MaxValue, uint.MaxValue), SeccompFilter.MaxInstructions)]);
        var largestBack = Assert.IsType<SeccompFilter>(RawCheckpoint.ReadAll(InProcess("SCMF", Encoded(largest)))[2]);
        Assert.Equal((uint.MaxValue, uint.MaxValue - 1, SeccompFilter.Log), (largestBack.FilterId, largestBack.ParentId, largestBack.Flags));
        Assert.Equal(largest.Program, largestBack.Program);

        byte[] payload = Encoded(filter);
        Assert.Equal(16 + 7 * 8, payload.Length);
        // filter_id 0, parent_id 4, flags 8, program.count 12; instruction i at 16 + 8 i: code, jt (+2), jf (+3), k (+4).
        Assert.Equal(new byte[] { 0x15, 0, 0, 1, 59, 0, 0, 0 }, payload[(16 + 4 * 8)..(16 + 5 * 8)]); // jeq __NR_execve: jt 0, jf 1
        byte[] Patched(int offset, params byte[] bytes) => InProcess("SCMF", Patch(payload, offset, bytes));
        Rejects(Patched(0, 0, 0, 0, 0), "'SCMF'", "field 'filter_id' has invalid value 0", "numbered from 1");
        Rejects(Patched(0, 0, 0, 0, 0, 0, 0, 0, 0), "field 'filter_id' has invalid value 0"); // the first of a chain is 1, not 0
        Rejects(Patched(4, 2), "field 'parent_id' has invalid value 2", "written before it (a lower id than 2)"); // its own parent
        Rejects(Patched(4, 3), "field 'parent_id' has invalid value 3", "a lower id than 2"); // a parent written after it
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "field 'parent_id' has invalid value 4294967295"); // equal at the top
        Rejects(Patched(8, 1), "field 'flags' has invalid value 0x1", "only bit 0x2 (SECCOMP_FILTER_FLAG_LOG)"); // TSYNC acts at installation
        Rejects(Patched(8, 0x0a), "field 'flags' has invalid value 0xa"); // LOG with NEW_LISTENER
        Rejects(Patched(8, 2, 0, 0, 0x80), "field 'flags' has invalid value 0x80000002");
        Rejects(InProcess("SCMF", Encoded(filter with { Program = [] })), "field 'program.count' has invalid value 0", "1 to 4096 instructions");
        Rejects(InProcess("SCMF", Encoded(largest with { Program = [.. largest.Program, new BpfInstruction(0x06, 0, 0, 0)] })),
            "field 'program.count' has invalid value 4097", "1 to 4096 instructions");
        Rejects(Patched(12, 0x01, 0x10), "list 'program' claims 4097 entries of 8 bytes but only 56 bytes remain"); // the list checks come first
        Rejects(Patched(12, 0, 0, 2, 0), "list 'program' claims 131072 entries, over the limit of 65536");
        Rejects(Patched(12, 8), "list 'program' claims 8 entries of 8 bytes but only 56 bytes remain");
        Rejects(Patched(12, 6), "8 unexpected bytes after the last field"); // a count below the instructions
        Rejects(InProcess("SCMF", payload[..^1]), "list 'program' claims 7 entries of 8 bytes but only 55 bytes remain");
        Rejects(InProcess("SCMF", payload[..15]), "field 'program.count' needs 4 bytes but only 3 remain");
        Rejects(InProcess("SCMF", payload[..11]), "field 'flags' needs 4 bytes but only 3 remain");
        Rejects(InProcess("SCMF", payload[..6]), "field 'parent_id' needs 4 bytes but only 2 remain");
        Rejects(InProcess("SCMF", []), "field 'filter_id' needs 4 bytes but only 0 remain");
        Rejects(InProcess("SCMF", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("SCMF", payload, inThread: true), "'SCMF'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(filter).Complete(), "'SCMF'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(filter).End("FIFO").Complete(), "'SCMF'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Thread_seccomp_modes_round_trip_and_bad_fields_are_rejected()
    {
        foreach (var mode in new[] { new ThreadSeccomp(SeccompMode.Strict, 0), new ThreadSeccomp(SeccompMode.Filter, 1), new ThreadSeccomp(SeccompMode.Filter, uint.MaxValue) })
        {
            Assert.True(mode.IsCritical);
            Assert.Equal(mode, Assert.IsType<ThreadSeccomp>(RawCheckpoint.ReadAll(InProcess("SCMT", Encoded(mode), inThread: true))[3]));
        }

        var filtered = new ThreadSeccomp(SeccompMode.Filter, 3);
        byte[] payload = Encoded(filtered);
        Assert.Equal(new byte[] { 2, 3, 0, 0, 0 }, payload); // mode 0, filter_id 1
        byte[] Thread(byte[] bytes) => InProcess("SCMT", bytes, inThread: true);
        Rejects(Thread([0, 0, 0, 0, 0]), "'SCMT'", "field 'mode' has invalid value 0", "only 1 (strict) and 2 (filter)"); // no seccomp: no SCMT at all
        Rejects(Thread([3, 3, 0, 0, 0]), "field 'mode' has invalid value 3");
        Rejects(Thread([0xff, 3, 0, 0, 0]), "field 'mode' has invalid value 255");
        Rejects(Thread([2, 0, 0, 0, 0]), "field 'filter_id' has invalid value 0", "a thread in filter mode names its last filter");
        Rejects(Thread([1, 3, 0, 0, 0]), "field 'filter_id' has invalid value 3", "one in strict mode names none (0)");
        Rejects(Thread([1, 0, 0, 0, 0x80]), "field 'filter_id' has invalid value 2147483648");
        Rejects(Thread(payload[..4]), "field 'filter_id' needs 4 bytes but only 3 remain");
        Rejects(Thread([]), "field 'mode' needs 1 bytes but only 0 remain");
        Rejects(Thread([.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("SCMT", payload), "'SCMT'", "may not stand in section 'PROC'");
        Rejects(new RawCheckpoint().Item(filtered).Complete(), "'SCMT'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(filtered).End("FIFO").Complete(), "'SCMT'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Seccomp_chains_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the SCMF items after the descriptors and before the first THRD, parents first, numbered from 1 in
        // each PROC; an SCMT last in the THRD of each thread under seccomp. Process 7's main thread and worker share the
        // sandbox filter and a second one (the worker inherited them); the worker stacked a third. Its third thread was made
        // before the filters and has none. Process 8, a fork of the main thread, has the two filters it inherited written
        // again in its own section, numbered from 1. Process 9's thread is in strict mode.
        var sandbox = new SeccompFilter(1, 0, SeccompFilter.Log, NoExec);
        var noPtrace = new SeccompFilter(2, 1, 0, Refusing(101));
        var noSocket = new SeccompFilter(3, 2, 0, Refusing(41));
        var scheduling = new ThreadScheduling(SchedulingPolicy.Other, false, 0, 0, 50_000, [0x3]);
        var io = new IoPriority(IoPriorityClass.None, 0, 0);
        ThreadInfo Tinf(int tid) => new(tid, 0, 0, 2, 0, 0, 0, 24, 0, 32, 0x5305_3053, SyscallRestart.None, "t"u8.ToArray());
        var file = new MemoryStream();
        using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(new FileDescriptor(0, FileKind.CharDevice, 0, 0, 0, 0x21b6, 5, 6, 0x103, 1, 0, "/dev/null"u8.ToArray()));
            writer.Write(sandbox);
            writer.Write(noPtrace);
            writer.Write(noSocket);
            foreach (var (tid, seccomp) in new (int, ThreadSeccomp?)[] { (7, new(SeccompMode.Filter, 2)), (10, new(SeccompMode.Filter, 3)), (11, null) })
            {
                writer.BeginSection(ItemKinds.Thread);
                writer.Write(Tinf(tid));
                writer.Write(scheduling);
                writer.Write(io);
                if (seccomp is not null) writer.Write(seccomp);
                writer.EndSection(ItemKinds.Thread);
            }
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(sandbox);
            writer.Write(noPtrace);
            writer.BeginSection(ItemKinds.Thread);
            writer.Write(Tinf(8));
            writer.Write(new ThreadSeccomp(SeccompMode.Filter, 2));
            writer.EndSection(ItemKinds.Thread);
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(9));
            writer.BeginSection(ItemKinds.Thread);
            writer.Write(Tinf(9));
            writer.Write(new ThreadSeccomp(SeccompMode.Strict, 0));
            writer.EndSection(ItemKinds.Thread);
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(file.ToArray());
        Assert.Equal(["PROC", "PINF", "FDES", "SCMF", "SCMF", "SCMF",
            "THRD", "TINF", "SCHD", "IOPR", "SCMT", "THRD", "THRD", "TINF", "SCHD", "IOPR", "SCMT", "THRD", "THRD", "TINF", "SCHD", "IOPR", "THRD", "PROC",
            "PROC", "PINF", "SCMF", "SCMF", "THRD", "TINF", "SCMT", "THRD", "PROC",
            "PROC", "PINF", "THRD", "TINF", "SCMT", "THRD", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Null(ItemComparer.Difference(sandbox, read[3]));
        Assert.Null(ItemComparer.Difference(noSocket, read[5]));

        // What a consumer installs, in each PROC: a thread's chain from its SCMT's filter_id through each parent_id to 0, the
        // first installed (parent 0) first. Each filter_id is the filter's place in its PROC, every parent stands before it.
        var chains = new List<uint[]>();
        Dictionary<uint, SeccompFilter> filters = [];
        foreach (var item in read)
        {
            switch (item)
            {
                case SectionBegin { Section: var s } when s == ItemKinds.Process: filters = []; break;
                case SeccompFilter f:
                    Assert.Equal((uint)filters.Count + 1, f.FilterId);
                    Assert.True(f.ParentId == 0 || filters.ContainsKey(f.ParentId));
                    filters.Add(f.FilterId, f);
                    break;
                case ThreadSeccomp { Mode: SeccompMode.Filter } t:
                    var chain = new List<uint>();
                    for (uint id = t.FilterId; id != 0; id = filters[id].ParentId) chain.Add(id);
                    chain.Reverse();
                    chains.Add([.. chain]);
                    break;
            }
        }
        Assert.Equal(new[] { new uint[] { 1, 2 }, [1, 2, 3], [1, 2] }, chains);

        var (code, tree, _) = CryoDump.Run(["-"], file.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("SCMF @", tree);
        Assert.Contains("filter_id=1 parent_id=0 flags=0x2 program=[{code=0x20 jt=0 jf=0 k=0x4}, {code=0x15 jt=1 jf=0 k=0xc000003e}, " +
            "{code=0x6 jt=0 jf=0 k=0x80000000}, ", tree);
        Assert.Contains("filter_id=3 parent_id=2 flags=0x0 program=[{code=0x20 jt=0 jf=0 k=0x0}, {code=0x15 jt=0 jf=1 k=0x29}, " +
            "{code=0x6 jt=0 jf=0 k=0x50001}, {code=0x6 jt=0 jf=0 k=0x7fff0000}]\n", tree);
        Assert.Contains("SCMT @", tree);
        Assert.Contains("mode=2 filter_id=3\n", tree);
        Assert.Contains("mode=1 filter_id=0\n", tree);

        // The golden form keeps the filters and ids as they are: they are the file's own numbers, not the kernel's.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], file.ToArray());
        Assert.Contains("    SCMT mode=2 filter_id=2\n", golden);
        Assert.Contains("  SCMF filter_id=2 parent_id=1 flags=0x0 program=[{code=0x20 jt=0 jf=0 k=0x0}, {code=0x15 jt=0 jf=1 k=0x65}, ", golden);
    }

    [Fact]
    public void Memfd_objects_round_trip_and_bad_fields_are_rejected()
    {
        var memfd = new MemfdObject(4242, 0x1, 10_000, MemfdObject.SealShrink | MemfdObject.SealGrow | MemfdObject.SealFutureWrite, 0x81b6 /* 0100666 */,
            1000, 100, "ring"u8.ToArray());
        Assert.True(memfd.IsCritical);
        Assert.Null(ItemComparer.Difference(memfd, Assert.IsType<MemfdObject>(RawCheckpoint.ReadAll(InProcess("MEMF", Encoded(memfd)))[2])));
        // The extremes: an empty name and size 0; every seal, size 2^63 - 1 and the longest name, of every byte but NUL and '/'.
        var empty = new MemfdObject(1, 0, 0, 0, 0x8000, 0, 0, []);
        Assert.Null(ItemComparer.Difference(empty, Assert.IsType<MemfdObject>(RawCheckpoint.ReadAll(InProcess("MEMF", Encoded(empty)))[2])));
        byte[] longest = [.. Enumerable.Range(1, 255).Where(b => b != '/').Take(MemfdObject.MaxName).Select(b => (byte)b)];
        var largest = new MemfdObject(ulong.MaxValue, ulong.MaxValue, long.MaxValue, MemfdObject.KnownSeals, 0x8fff, uint.MaxValue, uint.MaxValue, longest);
        var back = Assert.IsType<MemfdObject>(RawCheckpoint.ReadAll(InProcess("MEMF", Encoded(largest)))[2]);
        Assert.Null(ItemComparer.Difference(largest, back));
        Assert.Equal(longest, back.Name);

        byte[] payload = Encoded(memfd);
        Assert.Equal(42 + 4, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("MEMF", Patch(payload, offset, bytes));
        // object_id 0, device 8, size 16, seals 24, mode 28, uid 32, gid 36, name 40 (length) and 42 (bytes).
        Rejects(Patched(0, 0, 0, 0, 0), "'MEMF'", "field 'object_id' has invalid value 0", "the memfd's inode number, never 0");
        Rejects(Patched(16, 0, 0, 0, 0, 0, 0, 0, 0x80), "field 'size' has invalid value 9223372036854775808", "a file size fits in a signed 64-bit number");
        Rejects(Patched(16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "field 'size' has invalid value 18446744073709551615");
        Rejects(Patched(24, 0x40), "field 'seals' has invalid value 0x40", "only the seals 0x1 … 0x20");
        Rejects(Patched(24, 0x3f, 0, 0, 0x80), "field 'seals' has invalid value 0x8000003f");
        Rejects(Patched(28, 0xed, 0x41), "field 'mode' has invalid value 0x41ed", "a memfd is a regular file (type bits 0x8000)"); // a directory
        Rejects(Patched(28, 0xb6, 0x01), "field 'mode' has invalid value 0x1b6"); // no type bits
        Rejects(Patched(28, 0xff, 0xa1), "field 'mode' has invalid value 0xa1ff"); // a symbolic link: 0x8000 set, but not the regular type
        Rejects(InProcess("MEMF", Encoded(memfd with { Name = new byte[MemfdObject.MaxName + 1] })), "field 'name' has invalid value 250", "at most 249 bytes");
        Rejects(Patched(40, 0x01, 0x10), "field 'name' is 4097 bytes long, over the limit of 4096"); // checked before the bytes are read
        Rejects(Patched(43, (byte)'/'), "field 'name'", "a memfd name holds neither NUL nor '/'");
        Rejects(Patched(45, 0), "field 'name'", "neither NUL nor '/'");
        Rejects(InProcess("MEMF", Encoded(memfd with { Name = "/"u8.ToArray() })), "field 'name'", "neither NUL nor '/'");
        Rejects(InProcess("MEMF", payload[..^1]), "field 'name' needs 4 bytes but only 3 remain");
        Rejects(InProcess("MEMF", payload[..30]), "field 'mode' needs 4 bytes");
        Rejects(InProcess("MEMF", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("MEMF", payload, inThread: true), "'MEMF'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(memfd).Complete(), "'MEMF'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(memfd).End("FIFO").Complete(), "'MEMF'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Memfd_data_round_trips_and_bad_fields_are_rejected()
    {
        byte[] pages = new byte[2 * 4096];
        new Random(7).NextBytes(pages);
        var data = new MemfdData(4242, 3 * 4096, pages);
        Assert.True(data.IsCritical);
        var back = Assert.IsType<MemfdData>(RawCheckpoint.ReadAll(InProcess("MDAT", Encoded(data)))[2]);
        Assert.Null(ItemComparer.Difference(data, back));
        Assert.Equal(pages, back.Data.ToArray());
        // The largest end the reader takes: offset + length = 2^63 - 1 (alignment is the consumer's, §8.5).
        var last = new MemfdData(ulong.MaxValue, long.MaxValue - 4096, new byte[4096]);
        Assert.Null(ItemComparer.Difference(last, RawCheckpoint.ReadAll(InProcess("MDAT", Encoded(last)))[2]));
        // Whole pages are a rule for writers that consumers check, not the reader (unlike PAGE, §8.2 I5).
        Assert.Equal(100, Assert.IsType<MemfdData>(RawCheckpoint.ReadAll(InProcess("MDAT", Encoded(data with { Data = new byte[100] })))[2]).Data.Length);

        Rejects(InProcess("MDAT", Encoded(data with { Data = Array.Empty<byte>() })), "'MDAT'", "an MDAT item holds at least one page");
        Rejects(InProcess("MDAT", Encoded(last with { Offset = long.MaxValue - 4095 })), "'MDAT'", "field 'offset' has invalid value 9223372036854771712",
            "the data would end past the largest file offset");
        Rejects(InProcess("MDAT", Encoded(last with { Offset = 1UL << 63 })), "field 'offset' has invalid value 9223372036854775808");
        Rejects(InProcess("MDAT", Encoded(last with { Offset = ulong.MaxValue })), "field 'offset' has invalid value 18446744073709551615");
        byte[] payload = Encoded(data);
        Assert.Equal(16 + 2 * 4096, payload.Length);
        Rejects(InProcess("MDAT", payload[..16]), "an MDAT item holds at least one page");
        Rejects(InProcess("MDAT", payload[..15]), "field 'offset' needs 8 bytes");
        Rejects(InProcess("MDAT", payload[..7]), "field 'object_id' needs 8 bytes");
        Rejects(InProcess("MDAT", payload, inThread: true), "'MDAT'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(data).Complete(), "'MDAT'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(data).End("FIFO").Complete(), "'MDAT'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Deleted_files_round_trip_and_bad_fields_are_rejected()
    {
        var deleted = new DeletedFile(4211, 0x801, 10_000, 0x8180 /* 0100600 */, 1000, 100, "/tmp/#4211"u8.ToArray());
        Assert.True(deleted.IsCritical);
        Assert.Null(ItemComparer.Difference(deleted, Assert.IsType<DeletedFile>(RawCheckpoint.ReadAll(InProcess("DELF", Encoded(deleted)))[2])));
        // The extremes: the shortest path ("/a") and size 0; size 2^63 - 1, every mode bit of a regular file, and the longest
        // path, of every byte but NUL, '/' again inside it, its last byte not '/'.
        var shortest = new DeletedFile(1, 0, 0, 0x8000, 0, 0, "/a"u8.ToArray());
        Assert.Null(ItemComparer.Difference(shortest, Assert.IsType<DeletedFile>(RawCheckpoint.ReadAll(InProcess("DELF", Encoded(shortest)))[2])));
        byte[] longest = [(byte)'/', .. Enumerable.Range(0, FormatLimits.MaxBytesString - 2).Select(i => (byte)(1 + i % 255)), (byte)'x'];
        var largest = new DeletedFile(ulong.MaxValue, ulong.MaxValue, long.MaxValue, 0x8fff, uint.MaxValue, uint.MaxValue, longest);
        var back = Assert.IsType<DeletedFile>(RawCheckpoint.ReadAll(InProcess("DELF", Encoded(largest)))[2]);
        Assert.Null(ItemComparer.Difference(largest, back));
        Assert.Equal(longest, back.Path);
        // " (deleted)" belongs to the links, not to the path; a path that holds it anyway is still a path.
        var named = deleted with { Path = "/var/log/a (deleted)"u8.ToArray() };
        Assert.Null(ItemComparer.Difference(named, RawCheckpoint.ReadAll(InProcess("DELF", Encoded(named)))[2]));

        byte[] payload = Encoded(deleted);
        Assert.Equal(38 + 10, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("DELF", Patch(payload, offset, bytes));
        byte[] WithPath(string path) => InProcess("DELF", Encoded(deleted with { Path = Encoding.UTF8.GetBytes(path) }));
        // object_id 0, device 8, size 16, mode 24, uid 28, gid 32, path 36 (length) and 38 (bytes).
        Rejects(Patched(0, 0, 0, 0, 0), "'DELF'", "field 'object_id' has invalid value 0", "the file's inode number, never 0");
        Rejects(Patched(16, 0, 0, 0, 0, 0, 0, 0, 0x80), "field 'size' has invalid value 9223372036854775808", "a file size fits in a signed 64-bit number");
        Rejects(Patched(16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), "field 'size' has invalid value 18446744073709551615");
        Rejects(Patched(24, 0xed, 0x41), "field 'mode' has invalid value 0x41ed", "a deleted file saved with its contents is a regular file (type bits 0x8000)"); // a directory
        Rejects(Patched(24, 0xb6, 0x01), "field 'mode' has invalid value 0x1b6"); // no type bits
        Rejects(Patched(24, 0xff, 0xa1), "field 'mode' has invalid value 0xa1ff"); // a symbolic link: 0x8000 set, but not the regular type
        Rejects(Patched(24, 0xb6, 0x11), "field 'mode' has invalid value 0x11b6"); // a FIFO
        const string PathRule = "the path a deleted file had is absolute, names a file (not ending in '/') and holds no NUL";
        Rejects(WithPath(""), "'DELF'", "field 'path' has invalid value", PathRule);
        Rejects(WithPath("/"), "field 'path'", PathRule);
        Rejects(WithPath("a"), "field 'path'", PathRule);
        Rejects(WithPath("tmp/x"), "field 'path'", PathRule); // relative
        Rejects(WithPath("/tmp/"), "field 'path'", PathRule);
        Rejects(WithPath("//"), "field 'path'", PathRule);
        Rejects(WithPath("/tmp/a\0b"), "field 'path'", PathRule);
        Rejects(WithPath("/tmp/x\0"), "field 'path'", PathRule);
        Rejects(Patched(38, 0), "field 'path'", PathRule); // a NUL first
        Rejects(Patched(36, 0x01, 0x10), "field 'path' is 4097 bytes long, over the limit of 4096"); // checked before the bytes are read
        Rejects(InProcess("DELF", payload[..^1]), "field 'path' needs 10 bytes but only 9 remain");
        Rejects(InProcess("DELF", payload[..37]), "field 'path.length' needs 2 bytes but only 1 remain");
        Rejects(InProcess("DELF", payload[..26]), "field 'mode' needs 4 bytes");
        Rejects(InProcess("DELF", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("DELF", payload, inThread: true), "'DELF'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(deleted).Complete(), "'DELF'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(deleted).End("FIFO").Complete(), "'DELF'", "may not stand in section 'FIFO'");
    }

    [Fact]
    public void Deleted_files_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: SHMS, each MEMF with its MDAT items, then each DELF with its MDAT items, MMST, the areas, the
        // descriptors. The descriptors and areas of a deleted file are kinds 0, 2 and 3 with its device and inode and a path
        // ending in " (deleted)". A second process that maps the file has no DELF of its own.
        var memfd = new MemfdObject(4242, 0x1, 4096, MemfdObject.SealSeal, 0x81b6, 1000, 100, "ring"u8.ToArray());
        var semaphore = new DeletedFile(77, 0x1a, 32, 0x81b6, 1000, 100, "/dev/shm/sem.Xy12ab"u8.ToArray());
        var log = new DeletedFile(4211, 0x801, 3 * 4096 - 100, 0x8180, 1000, 100, "/tmp/#4211"u8.ToArray());
        var empty = new DeletedFile(5000, 0x801, 0, 0x81a4, 1000, 100, "/srv/job/out.log"u8.ToArray());
        var layout = new MemoryLayout(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, []);
        var shared = new MemoryArea(0x7f00_0000_0000, 0x7f00_0000_1000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
            MemoryAreaKind.FileShared, 0x1a, 77, "/dev/shm/sem.Xy12ab (deleted)"u8.ToArray(), []);
        var copied = new MemoryArea(0x7f00_0001_0000, 0x7f00_0001_2000, 4096, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate,
            MemoryAreaKind.FilePrivate, 0x801, 4211, "/tmp/#4211 (deleted)"u8.ToArray(), [new PageRun(0, 1)]);
        var fd = new FileDescriptor(3, FileKind.Regular, 0, 0x8402, 12_188, 0x8180, 0x801, 4211, 0, 1, 0, "/tmp/#4211 (deleted)"u8.ToArray());
        var emptyFd = new FileDescriptor(4, FileKind.Regular, FileDescriptor.CloseOnExec, 0x8001, 0, 0x81a4, 0x801, 5000, 0, 2, 0,
            "/srv/job/out.log (deleted)"u8.ToArray());
        var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(memfd);
            writer.Write(new MemfdData(4242, 0, new byte[4096]));
            writer.Write(semaphore);
            writer.Write(new MemfdData(77, 0, new byte[4096]));
            writer.Write(log);
            writer.Write(new MemfdData(4211, 0, new byte[4096]));
            writer.Write(new MemfdData(4211, 2 * 4096, new byte[4096])); // page 1 is a hole
            writer.Write(empty);
            writer.Write(layout);
            writer.Write(shared);
            writer.Write(copied);
            writer.WritePages(0x7f00_0001_0000, new byte[4096]);
            writer.Write(fd);
            writer.Write(emptyFd);
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(layout);
            writer.Write(shared);
            writer.Write(fd with { Fd = 5 });
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(stream.ToArray());
        Assert.Equal(["PROC", "PINF", "MEMF", "MDAT", "DELF", "MDAT", "DELF", "MDAT", "MDAT", "DELF", "MMST", "AREA", "AREA", "PAGE", "FDES", "FDES", "PROC",
            "PROC", "PINF", "MMST", "AREA", "FDES", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Null(ItemComparer.Difference(semaphore, read[4]));
        Assert.Null(ItemComparer.Difference(log, read[6]));
        var second = Assert.IsType<MemfdData>(read[8]);
        Assert.Equal((4211UL, 8192UL, 4096), (second.ObjectId, second.Offset, second.Data.Length));
        Assert.Null(ItemComparer.Difference(empty, read[9]));

        var (code, tree, _) = CryoDump.Run(["-"], stream.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("DELF @", tree);
        Assert.Contains("object_id=4211 device=2049 size=12188 mode=0x8180 uid=1000 gid=100 path=\"/tmp/#4211\"", tree);
        Assert.Contains("object_id=4211 offset=8192 data=<4096 bytes crc32c:", tree);
        Assert.Contains("kind=3 device=26 inode=77 path=\"/dev/shm/sem.Xy12ab (deleted)\" runs=[]", tree);
        Assert.Contains("fd=3 kind=0", tree);

        // The golden form numbers a deleted file's object id and the inode of the areas and descriptors that refer to it alike.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], stream.ToArray());
        var ids = System.Text.RegularExpressions.Regex.Match(golden, @"DELF object_id=(I\d+) device=(D\d+) size=12188 ");
        Assert.True(ids.Success, golden);
        string objectId = ids.Groups[1].Value, device = ids.Groups[2].Value;
        Assert.Contains($"MDAT object_id={objectId} offset=8192 data=<4096 bytes>", golden);
        Assert.Contains($"kind=2 device={device} inode={objectId} path=\"/tmp/#4211 (deleted)\"", golden);
        Assert.Contains($"fd=5 kind=0 fd_flags=0x0 open_flags=0x8402 offset=12188 mode=0x8180 device={device} inode={objectId}", golden);

        // The summary counts a deleted file's data as stored in the process whose section holds its DELF, as a memfd's.
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], stream.ToArray());
        Assert.Contains("2 areas, 12.0 KiB mapped, 20.0 KiB stored", summary);
        Assert.Contains("1 areas, 4.0 KiB mapped, 0 bytes stored", summary);
        Assert.Contains("fd 3: Regular /tmp/#4211 (deleted)", summary);
    }

    [Fact]
    public void Deleted_working_directories_round_trip_and_bad_fields_are_rejected()
    {
        var deleted = new DeletedWorkingDirectory("/srv/build/job-7"u8.ToArray(), 0x41ed /* 040755 */, 1000, 100);
        Assert.True(deleted.IsCritical);
        var back = Assert.IsType<DeletedWorkingDirectory>(RawCheckpoint.ReadAll(InProcess("DCWD", Encoded(deleted)))[2]);
        Assert.Null(ItemComparer.Difference(deleted, back));
        Assert.Equal(deleted.Path, back.Path);
        Assert.Equal((0x41edu, 1000u, 100u), (back.Mode, back.Uid, back.Gid));
        // The extremes: the shortest path ("/a"), a bare S_IFDIR mode, root's owner; the longest path, of every byte but NUL, '/'
        // again inside it, every mode bit of a directory, the largest owner. The reader takes what only writers care about: a
        // path ending in '/' (Linux shows none), one with " (deleted)" in it, bits above the mode's 16 (it checks the type bits).
        byte[] longest = [(byte)'/', .. Enumerable.Range(0, FormatLimits.MaxBytesString - 1).Select(i => (byte)(1 + i % 255))];
        var edges = new[]
        {
            new DeletedWorkingDirectory("/a"u8.ToArray(), 0x4000, 0, 0),
            new DeletedWorkingDirectory(longest, 0x4fff, uint.MaxValue, uint.MaxValue),
            new DeletedWorkingDirectory("/srv/job/"u8.ToArray(), 0x41c0, 1, 1),
            new DeletedWorkingDirectory("/tmp/x (deleted)"u8.ToArray(), 0xffff_4000, 2, 2),
        };
        foreach (var edge in edges)
        {
            var read = Assert.IsType<DeletedWorkingDirectory>(RawCheckpoint.ReadAll(InProcess("DCWD", Encoded(edge)))[2]);
            Assert.Null(ItemComparer.Difference(edge, read));
            Assert.Equal(edge.Path, read.Path);
        }
        Assert.Equal(FormatLimits.MaxBytesString, longest.Length);

        byte[] payload = Encoded(deleted);
        int n = deleted.Path.Length;
        Assert.Equal(16, n);
        Assert.Equal(14 + n, payload.Length);
        // path 0 (its length, then its bytes at 2), mode 2 + n, uid 6 + n, gid 10 + n.
        Assert.Equal(new byte[] { 16, 0 }, payload[..2]);
        Assert.Equal(deleted.Path, payload[2..(2 + n)]);
        Assert.Equal(0x41edu, BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(2 + n)));
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(6 + n)));
        Assert.Equal(100u, BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(10 + n)));
        byte[] Patched(int offset, params byte[] bytes) => InProcess("DCWD", Patch(payload, offset, bytes));
        byte[] WithPath(string path) => InProcess("DCWD", Encoded(deleted with { Path = Encoding.UTF8.GetBytes(path) }));
        const string PathRule = "an absolute path other than / (a deleted directory has a parent), without NUL bytes";
        // A bad value is reported just past its field (§8.1): the DCWD frame stands before END PROC (16 bytes) and the trailer
        // (28), and its payload 12 bytes into it.
        long payloadAt = InProcess("DCWD", payload).Length - 28 - 16 - (16 + payload.Length) + 12;
        var relative = Rejects(WithPath("srv/build/job-7"), "'DCWD'", "field 'path' has invalid value \"srv/build/job-7\"", PathRule);
        Assert.Equal(payloadAt + n + 1, relative.Offset); // the relative path is a byte shorter
        Rejects(WithPath("/"), "'DCWD'", "field 'path' has invalid value \"/\"", PathRule); // "/" alone: a deleted directory has a parent
        Rejects(WithPath(""), "field 'path' has invalid value \"\"", PathRule);
        Rejects(WithPath("a"), "field 'path' has invalid value \"a\"", PathRule);
        Rejects(WithPath("ab"), "field 'path' has invalid value \"ab\"", PathRule);
        Rejects(WithPath("/srv/a\0b"), "field 'path' has invalid value \"/srv/a\\0b\"", PathRule); // a NUL inside
        Rejects(WithPath("/srv/job\0"), "field 'path' has invalid value \"/srv/job\\0\"", PathRule); // a NUL last
        Rejects(WithPath("/\0"), "field 'path' has invalid value \"/\\0\"", PathRule);
        var nul = Rejects(Patched(2 + 5, 0), "field 'path'", PathRule); // "/srv/", a NUL, "uild/job-7"
        Assert.Equal(payloadAt + 2 + n, nul.Offset);
        Rejects(Patched(2, 0), "field 'path'", PathRule); // a NUL first: neither absolute nor free of NUL
        Rejects(InProcess("DCWD", Encoded(deleted with { Path = [.. longest[..^1], 0] })), "field 'path'", PathRule); // in the longest path
        Rejects(Patched(0, 0x01, 0x10), "field 'path' is 4097 bytes long, over the limit of 4096"); // checked before the bytes are read
        // A mode that is not a directory's: a regular file, no type bits, a block device and a socket (0x4000 set, but not the type),
        // a symbolic link, every bit.
        const string ModeRule = "a directory's mode (S_IFDIR, 040000)";
        var regular = Rejects(Patched(2 + n, 0xa4, 0x81), "'DCWD'", "field 'mode' has invalid value 0100644", ModeRule);
        Assert.Equal(payloadAt + 2 + n + 4, regular.Offset);
        Rejects(Patched(2 + n, 0xed, 0x01), "field 'mode' has invalid value 0755", ModeRule);
        Rejects(Patched(2 + n, 0xb0, 0x61), "field 'mode' has invalid value 060660", ModeRule);
        Rejects(Patched(2 + n, 0xed, 0xc1), "field 'mode' has invalid value 0140755", ModeRule);
        Rejects(Patched(2 + n, 0xff, 0xa1), "field 'mode' has invalid value 0120777", ModeRule);
        Rejects(Patched(2 + n, 0xff, 0xff, 0xff, 0xff), "field 'mode' has invalid value 037777777777", ModeRule);
        // The first failing check wins, in field order: the path before the mode.
        Rejects(InProcess("DCWD", Encoded(new DeletedWorkingDirectory("x"u8.ToArray(), 0x81a4, 0, 0))), "field 'path'", PathRule);
        // Cut short, or with bytes after the gid.
        Rejects(InProcess("DCWD", []), "field 'path.length' needs 2 bytes but only 0 remain");
        Rejects(InProcess("DCWD", payload[..1]), "field 'path.length' needs 2 bytes but only 1 remain");
        Rejects(InProcess("DCWD", payload[..(2 + n - 1)]), "field 'path' needs 16 bytes but only 15 remain");
        Rejects(InProcess("DCWD", payload[..(2 + n)]), "field 'mode' needs 4 bytes but only 0 remain");
        Rejects(InProcess("DCWD", payload[..(4 + n)]), "field 'mode' needs 4 bytes but only 2 remain");
        Rejects(InProcess("DCWD", payload[..(6 + n)]), "field 'uid' needs 4 bytes but only 0 remain");
        Rejects(InProcess("DCWD", payload[..^1]), "field 'gid' needs 4 bytes but only 3 remain");
        Rejects(InProcess("DCWD", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("DCWD", [.. payload, 0, 0, 0, 0]), "4 unexpected bytes after the last field");
        // In the wrong place.
        Rejects(InProcess("DCWD", payload, inThread: true), "'DCWD'", "may not stand in section 'THRD'");
        Rejects(new RawCheckpoint().Item(deleted).Complete(), "'DCWD'", "may not stand outside a section");
        Rejects(new RawCheckpoint().Begin("FIFO").Item(deleted).End("FIFO").Complete(), "'DCWD'", "may not stand in section 'FIFO'");
        // Registered right after CRED, in PROC only, as an item.
        var kind = Assert.IsType<ItemKind>(ItemKinds.Find(DeletedWorkingDirectory.TagValue));
        Assert.Equal(("DCWD", "deleted working directory", false), (kind.Tag.ToString(), kind.Name, kind.IsSection));
        Assert.Equal([ItemKinds.Process], kind.AllowedIn);
        var tags = ItemKinds.All.Select(k => k.Tag).ToList();
        Assert.Equal(tags.IndexOf(Credentials.TagValue) + 1, tags.IndexOf(DeletedWorkingDirectory.TagValue));
        // A reader that does not know the tag (one written before DCWD was defined) rejects the file: the frame is critical.
        byte[] unknown = new RawCheckpoint().Begin("PROC").Item(Process()).Frame("DCWZ", ItemFlags.Critical, payload).End("PROC").Complete();
        Rejects(unknown, "unknown critical item 'DCWZ'", "item #2");
        // What the reader leaves to consumers (§8.5): a DCWD not directly after a PINF, two in a PROC, a path other than the
        // PINF's cwd. The reader takes each item alone.
        var loose = RawCheckpoint.ReadAll(new RawCheckpoint().Begin("PROC").Item(Process()).Item(new OomScoreAdjustment(0)).Item(deleted).Item(deleted)
            .End("PROC").Complete());
        Assert.Equal(["PROC", "PINF", "OOMS", "DCWD", "DCWD", "PROC"], loose.Select(i => i.Tag.ToString()));
        Assert.Empty(Assert.IsType<ProcessInfo>(loose[1]).Cwd);
    }

    [Fact]
    public void Deleted_working_directories_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: the PINF (its cwd the directory's path, without " (deleted)"), directly followed by the DCWD, then the
        // CRED. A job (pid P) whose build directory was removed under it, and its child (P + 1), forked in it, with a DCWD of its
        // own for the same directory; a second child (P + 2) that changed to another directory has none, nor has a zombie (P + 3).
        byte[] buildDir = "/srv/cryo-test/build/job-7"u8.ToArray();
        byte[] Write(int pid)
        {
            ProcessInfo Info(int p, ProcessState state, byte[] cwd) =>
                new(p, p == pid ? 1 : pid, pid, pid, state, state == ProcessState.Zombie ? 3 << 8 : 0, 0, 0x12, 1, 0, 0, 0,
                    state == ProcessState.Zombie ? 0u : 1u, "make"u8.ToArray(), state == ProcessState.Zombie ? [] : "/usr/bin/make"u8.ToArray(), cwd,
                    state == ProcessState.Zombie ? [] : "/"u8.ToArray());
            var credentials = new Credentials(1000, 1000, 1000, 1000, 100, 100, 100, 100, 0, 0, 0, 0x1ff_ffff_ffff, 0, 0, [100]);
            var file = new MemoryStream();
            using (var writer = new CheckpointWriter(file, SampleFiles.Header(), leaveOpen: true))
            {
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Info(pid, ProcessState.Alive, buildDir));
                writer.Write(new DeletedWorkingDirectory(buildDir, 0x41ed /* 040755 */, 1000, 100));
                writer.Write(credentials);
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Info(pid + 1, ProcessState.Alive, buildDir));
                writer.Write(new DeletedWorkingDirectory(buildDir, 0x41ed, 1000, 100));
                writer.Write(credentials);
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Info(pid + 2, ProcessState.Alive, "/srv/cryo-test"u8.ToArray()));
                writer.Write(credentials);
                writer.EndSection(ItemKinds.Process);
                writer.BeginSection(ItemKinds.Process);
                writer.Write(Info(pid + 3, ProcessState.Zombie, []));
                writer.EndSection(ItemKinds.Process);
                writer.Complete();
            }
            return file.ToArray();
        }
        byte[] bytes = Write(7);

        var read = RawCheckpoint.ReadAll(bytes);
        Assert.Equal(["PROC", "PINF", "DCWD", "CRED", "PROC", "PROC", "PINF", "DCWD", "CRED", "PROC",
            "PROC", "PINF", "CRED", "PROC", "PROC", "PINF", "PROC"], read.Select(i => i.Tag.ToString()));
        var first = Assert.IsType<DeletedWorkingDirectory>(read[2]);
        Assert.Equal(buildDir, first.Path);
        Assert.Equal((0x41edu, 1000u, 100u), (first.Mode, first.Uid, first.Gid));
        Assert.True(first.IsCritical);
        // What a consumer checks (§8.5): each DCWD directly follows a PINF, once, its path the PINF's cwd.
        for (int i = 0; i < read.Count; i++)
            if (read[i] is DeletedWorkingDirectory d)
            {
                var owner = Assert.IsType<ProcessInfo>(read[i - 1]);
                Assert.Equal(owner.Cwd, d.Path);
                Assert.IsNotType<DeletedWorkingDirectory>(read[i + 1]);
            }

        // The tree: the path as an escaped byte string, as the PINF's cwd, the mode in hex, the owner as numbers.
        var (code, tree, _) = CryoDump.Run(["-"], bytes);
        Assert.Equal(0, code);
        Assert.Contains("DCWD @", tree);
        Assert.Contains(" cwd=\"/srv/cryo-test/build/job-7\" root=\"/\"\n", tree);
        Assert.Contains(" path=\"/srv/cryo-test/build/job-7\" mode=0x41ed uid=1000 gid=100\n", tree);

        // The JSON: the fields in payload order; the path as text, the mode and owner as numbers; the frame critical.
        var (_, json, _) = CryoDump.Run(["--json", "-"], bytes);
        using (var document = System.Text.Json.JsonDocument.Parse(json))
        {
            var item = document.RootElement.GetProperty("items")[2];
            Assert.Equal("DCWD", item.GetProperty("tag").GetString());
            Assert.True(item.GetProperty("critical").GetBoolean());
            var fields = item.GetProperty("fields");
            Assert.Equal(["path", "mode", "uid", "gid"], fields.EnumerateObject().Select(p => p.Name));
            Assert.Equal("/srv/cryo-test/build/job-7", fields.GetProperty("path").GetString());
            Assert.Equal((0x41edu, 1000u, 100u), (fields.GetProperty("mode").GetUInt32(), fields.GetProperty("uid").GetUInt32(), fields.GetProperty("gid").GetUInt32()));
        }

        // The golden form gives the path the path aliases, as the PINF's cwd; another run with other pids gives the same text.
        var (_, golden, _) = CryoDump.Run(["--normalize", "--path-alias", "/srv/cryo-test=<srv>", "-"], bytes);
        Assert.Contains("DCWD path=\"<srv>/build/job-7\" mode=0x41ed uid=1000 gid=100\n", golden);
        Assert.Contains(" cwd=\"<srv>/build/job-7\" root=\"/\"\nDCWD", golden.Replace("\n  ", "\n", StringComparison.Ordinal));
        Assert.Contains(" cwd=\"<srv>\" root=\"/\"\n", golden);
        Assert.Equal(2, golden.Split("DCWD ").Length - 1);
        Assert.Equal(golden, CryoDump.Run(["--normalize", "--path-alias", "/srv/cryo-test=<srv>", "-"], Write(31_000)).Stdout);
    }

    [Fact]
    public void Memfd_descriptors_are_kind_9_and_mappings_kind_11_and_higher_kinds_are_rejected()
    {
        var fd = new FileDescriptor(5, FileKind.Memfd, FileDescriptor.CloseOnExec, 0x8002, 4096, 0x81b6, 0x1, 4242, 0, 3, 0, "/memfd:ring (deleted)"u8.ToArray());
        var fdBack = Assert.IsType<FileDescriptor>(RawCheckpoint.ReadAll(InProcess("FDES", Encoded(fd)))[2]);
        Assert.Null(ItemComparer.Difference(fd, fdBack));
        Assert.Equal(9, (int)fdBack.Kind);
        var shared = new MemoryArea(0x7f12_3456_7000, 0x7f12_3456_9000, 0x1000, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
            MemoryAreaKind.Memfd, 0x1, 4242, "/memfd:ring (deleted)"u8.ToArray(), []);
        var sharedBack = Assert.IsType<MemoryArea>(RawCheckpoint.ReadAll(InProcess("AREA", Encoded(shared)))[2]);
        Assert.Null(ItemComparer.Difference(shared, sharedBack));
        Assert.Equal(11, (int)sharedBack.Kind);
        var copied = shared with { MapFlags = MemoryArea.MapPrivate, Runs = [new PageRun(1, 1)] };
        Assert.Null(ItemComparer.Difference(copied, RawCheckpoint.ReadAll(InProcess("AREA", Encoded(copied)))[2]));

        // FDES: fd 0, kind 4; AREA: start 0, end 8, file_offset 16, prot 24, map_flags 28, kind 32. (FDES kind 10 is a terminal.)
        Rejects(InProcess("FDES", Patch(Encoded(fd), 4, 11)), "'FDES'", "field 'kind' has invalid value 11", "unknown file kind");
        Rejects(InProcess("FDES", Patch(Encoded(fd), 4, 0xff)), "field 'kind' has invalid value 255");
        Rejects(InProcess("AREA", Patch(Encoded(shared), 32, 12)), "'AREA'", "field 'kind' has invalid value 12", "unknown memory area kind");
    }

    [Fact]
    public void Memfd_objects_round_trip_through_the_writer_in_file_order()
    {
        // As §11.2 has it: SHMS, each MEMF directly followed by its MDAT items, MMST, the areas, the descriptors. A second
        // process that maps the same object has no MEMF of its own: it names the object by device and inode.
        var segment = new SysVSegment(7, 0, 4096, 0x180, 1000, 100, 1000, 100, 7, 1_767_225_600);
        var memfd = new MemfdObject(4242, 0x1, 3 * 4096 - 100, MemfdObject.SealSeal | MemfdObject.SealShrink, 0x81b6, 1000, 100, "ring"u8.ToArray());
        var empty = new MemfdObject(4300, 0x1, 0, MemfdObject.SealSeal, 0x8180, 1000, 100, []);
        var layout = new MemoryLayout(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, []);
        var shared = new MemoryArea(0x7f00_0000_0000, 0x7f00_0000_3000, 0, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapShared,
            MemoryAreaKind.Memfd, 0x1, 4242, "/memfd:ring (deleted)"u8.ToArray(), []);
        var copied = new MemoryArea(0x7f00_0001_0000, 0x7f00_0001_2000, 4096, MemoryArea.ProtRead | MemoryArea.ProtWrite, MemoryArea.MapPrivate,
            MemoryAreaKind.Memfd, 0x1, 4242, "/memfd:ring (deleted)"u8.ToArray(), [new PageRun(0, 1)]);
        var fd = new FileDescriptor(3, FileKind.Memfd, 0, 0x8002, 0, 0x81b6, 0x1, 4242, 0, 1, 0, "/memfd:ring (deleted)"u8.ToArray());
        var emptyFd = new FileDescriptor(4, FileKind.Memfd, 0, 0x8002, 0, 0x8180, 0x1, 4300, 0, 2, 0, "/memfd: (deleted)"u8.ToArray());
        var stream = new MemoryStream();
        using (var writer = new CheckpointWriter(stream, SampleFiles.Header(), leaveOpen: true))
        {
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process());
            writer.Write(segment);
            writer.Write(memfd);
            writer.Write(new MemfdData(4242, 0, new byte[4096]));
            writer.Write(new MemfdData(4242, 2 * 4096, new byte[4096])); // page 1 is a hole
            writer.Write(empty);
            writer.Write(layout);
            writer.Write(shared);
            writer.Write(copied);
            writer.WritePages(0x7f00_0001_0000, new byte[4096]);
            writer.Write(fd);
            writer.Write(emptyFd);
            writer.EndSection(ItemKinds.Process);
            writer.BeginSection(ItemKinds.Process);
            writer.Write(Process(8));
            writer.Write(layout);
            writer.Write(shared);
            writer.Write(fd with { Fd = 5 });
            writer.EndSection(ItemKinds.Process);
            writer.Complete();
        }

        var read = RawCheckpoint.ReadAll(stream.ToArray());
        Assert.Equal(["PROC", "PINF", "SHMS", "MEMF", "MDAT", "MDAT", "MEMF", "MMST", "AREA", "AREA", "PAGE", "FDES", "FDES", "PROC",
            "PROC", "PINF", "MMST", "AREA", "FDES", "PROC"], read.Select(i => i.Tag.ToString()));
        Assert.Null(ItemComparer.Difference(memfd, read[3]));
        var second = Assert.IsType<MemfdData>(read[5]);
        Assert.Equal((4242UL, 8192UL, 4096), (second.ObjectId, second.Offset, second.Data.Length));
        Assert.Null(ItemComparer.Difference(empty, read[6]));

        var (code, tree, _) = CryoDump.Run(["-"], stream.ToArray());
        Assert.Equal(0, code);
        Assert.Contains("MEMF @", tree);
        Assert.Contains("object_id=4242 device=1 size=12188 seals=0x3 mode=0x81b6 uid=1000 gid=100 name=\"ring\"", tree);
        Assert.Contains("MDAT @", tree);
        Assert.Contains("object_id=4242 offset=8192 data=<4096 bytes crc32c:", tree);
        Assert.Contains("kind=11 device=1 inode=4242 path=\"/memfd:ring (deleted)\" runs=[]", tree);
        Assert.Contains("FDES @", tree);
        Assert.Contains("fd=3 kind=9", tree);

        // The golden form numbers a memfd's object id and the inode of the areas and descriptors that refer to it alike.
        var (_, golden, _) = CryoDump.Run(["--normalize", "-"], stream.ToArray());
        string objectId = System.Text.RegularExpressions.Regex.Match(golden, @"MEMF object_id=(I\d+)").Groups[1].Value;
        Assert.NotEmpty(objectId);
        Assert.Contains($"MDAT object_id={objectId} offset=0 data=<4096 bytes>", golden);
        Assert.Contains($"kind=11 device=D1 inode={objectId} path=", golden);
        Assert.Contains($"fd=5 kind=9 fd_flags=0x0 open_flags=0x8002 offset=0 mode=0x81b6 device=D1 inode={objectId}", golden);

        // The summary counts a memfd's data as stored in the process whose section holds it.
        var (_, summary, _) = CryoDump.Run(["--summary", "-"], stream.ToArray());
        Assert.Contains("2 areas, 20.0 KiB mapped, 12.0 KiB stored", summary);
        Assert.Contains("1 areas, 12.0 KiB mapped, 0 bytes stored", summary);
        Assert.Contains("fd 3: Memfd /memfd:ring (deleted)", summary);
    }

    [Fact]
    public void Posix_timers_round_trip_and_bad_fields_are_rejected()
    {
        var timer = new PosixTimer(3, -6, PosixTimerNotify.Thread, 32, 0x7fff_ffff_f000, 4243, 1_500_000_000, 250_000_000);
        Assert.True(timer.IsCritical);
        Assert.Equal(timer, Assert.IsType<PosixTimer>(RawCheckpoint.ReadAll(InProcess("PTMR", Encoded(timer)))[2]));
        foreach (int clock in new[] { 0, 1, 7, 8, 9, 11, -8, -7, -6 })
            Assert.Equal(clock, Assert.IsType<PosixTimer>(RawCheckpoint.ReadAll(InProcess("PTMR", Encoded(timer with { ClockId = clock })))[2]).ClockId);
        var quiet = new PosixTimer(0, 1, PosixTimerNotify.None, 0, 0, 0, 0, 0); // SIGEV_NONE with no signal recorded, disarmed
        Assert.Equal(quiet, Assert.IsType<PosixTimer>(RawCheckpoint.ReadAll(InProcess("PTMR", Encoded(quiet)))[2]));
        var alarm = new PosixTimer(int.MaxValue, 0, PosixTimerNotify.Process, 14, int.MaxValue, 0, 1, 0); // no sigevent: SIGALRM, its id as value
        Assert.Equal(alarm, Assert.IsType<PosixTimer>(RawCheckpoint.ReadAll(InProcess("PTMR", Encoded(alarm)))[2]));

        byte[] payload = Encoded(timer);
        Assert.Equal(41, payload.Length);
        byte[] Patched(int offset, params byte[] bytes) => InProcess("PTMR", Patch(payload, offset, bytes));
        // id 0, clock_id 4, notify 8, signal 9, value 13, thread_id 21, value_ns 25, interval_ns 33.
        Rejects(Patched(0, 0xff, 0xff, 0xff, 0xff), "'PTMR'", "field 'id' has invalid value -1", "not negative");
        Rejects(Patched(4, 2, 0, 0, 0), "field 'clock_id' has invalid value 2", "0, 1, 7, 8, 9, 11"); // CLOCK_PROCESS_CPUTIME_ID as a program names it
        Rejects(Patched(4, 0xfe, 0xff, 0xff, 0xff), "field 'clock_id' has invalid value -2"); // a thread's own CPU-time clock (CLOCK_THREAD_CPUTIME_ID)
        Rejects(Patched(4, BitConverter.GetBytes(~1000 << 3 | 2)), "field 'clock_id' has invalid value -8006"); // process 1000's CPU-time clock
        Rejects(Patched(4, 4, 0, 0, 0), "field 'clock_id' has invalid value 4"); // CLOCK_MONOTONIC_RAW: no timers
        Rejects(Patched(8, 3), "field 'notify' has invalid value 3", "0 is a signal to the process");
        Rejects(Patched(8, 4), "field 'notify' has invalid value 4"); // Linux's own number for SIGEV_THREAD_ID
        Rejects(Patched(9, 65), "field 'signal' has invalid value 65", "1 … 64");
        Rejects(Patched(9, 0xff, 0xff, 0xff, 0xff), "field 'signal' has invalid value 4294967295");
        Rejects(Patched(9, 0), "field 'signal' has invalid value 0", "a timer that signals");
        Rejects(Patched(8, 0, 0), "field 'signal' has invalid value 0"); // a signal to the process needs one too
        Rejects(Patched(8, 1, 65), "field 'signal' has invalid value 65"); // SIGEV_NONE: 0 … 64
        Rejects(Patched(21, 0, 0, 0, 0), "field 'thread_id' has invalid value 0", "a thread id for a timer that signals a thread");
        Rejects(Patched(21, 0xff, 0xff, 0xff, 0xff), "field 'thread_id' has invalid value -1");
        Rejects(Patched(8, 0), "field 'thread_id' has invalid value 4243", "0 for the others"); // signals the process, names a thread
        Rejects(Patched(8, 1), "field 'thread_id' has invalid value 4243", "0 for the others");
        Rejects(Patched(25, 0, 0, 0, 0, 0, 0, 0, 0), "field 'interval_ns' has invalid value 250000000", "a disarmed timer");
        Rejects(InProcess("PTMR", payload[..40]), "field 'interval_ns' needs 8 bytes");
        Rejects(InProcess("PTMR", payload[..8]), "field 'notify' needs 1 bytes");
        Rejects(InProcess("PTMR", [.. payload, 0]), "1 unexpected bytes after the last field");
        Rejects(InProcess("PTMR", payload, inThread: true), "'PTMR'", "may not stand in section 'THRD'");
    }

    [Fact]
    public void Trailer_faults_are_rejected()
    {
        Rejects(new RawCheckpoint().Begin("PROC").End("PROC").Complete(itemCount: 3), "counts 3 items but 2 were read");
        byte[] good = new RawCheckpoint().Begin("PROC").End("PROC").Complete();
        Rejects([.. good, 0], "bytes follow the trailer");
        // Swap the two section frames' order by rebuilding with the same checksums in another order: the chain notices.
        byte[] a = new RawCheckpoint().Begin("PROC").Item(Process(1)).End("PROC").Begin("PROC").Item(Process(2)).End("PROC").Complete();
        byte[] b = new RawCheckpoint().Begin("PROC").Item(Process(2)).End("PROC").Begin("PROC").Item(Process(1)).End("PROC").Complete();
        int trailer = a.Length - 28;
        byte[] swapped = [.. b[..trailer], .. a[trailer..]];
        Rejects(swapped, "chain checksum mismatch");
    }

    [Fact]
    public void Header_faults_are_rejected()
    {
        byte[] good = SampleFiles.Build("minimal");
        var ex = Rejects(Encoding.ASCII.GetBytes("#!/bin/sh\necho hello\n"), "not a cryo checkpoint file");
        Assert.Equal("header", ex.Item);

        byte[] newer = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(newer.AsSpan(8), 2);
        Rejects(newer, "format version 2.0 is not supported");

        byte[] arm = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(arm.AsSpan(16), 183); // EM_AARCH64
        Rejects(arm, "header checksum mismatch");
        var headerLength = good.Length - 28 - 4;
        BinaryPrimitives.WriteUInt32LittleEndian(arm.AsSpan(headerLength), Crc32C.Compute(arm.AsSpan(0, headerLength)));
        Rejects(arm, "field 'arch' has invalid value 183", "only x86-64");

        Rejects(good[..20], "ends inside the header");
        Rejects(good[..^28], "ends without a trailer");
    }
}
