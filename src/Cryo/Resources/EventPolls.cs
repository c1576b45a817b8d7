using System.Globalization;
using Cryo.Checkpoint;
using Cryo.Format;
using Cryo.Interop;
using Cryo.Proc;
using Cryo.Restore;

namespace Cryo.Resources;

/// <summary>
/// epoll descriptors (EPOL, EPQT): the interest list, from fdinfo's "tfd:" lines. Each watch is
/// checked with kcmp(KCMP_EPOLL_TFD) to be the file open at its number now: the kernel keys a
/// watch by file and number, and a program that closed or replaced the number while the file
/// stayed watched (through a dup) has a watch no restore could add again. A restore makes an
/// empty epoll instance in cryo, which <see cref="Files"/> hands over like any description, and
/// adds the watches inside the process (EPOLL_CTL_ADD through the watched numbers) once all its
/// descriptors are in place.
///
/// What the interest list does not show is the ready list, and a fresh EPOLL_CTL_ADD of a ready
/// file queues an event. Level-triggered, that is what the kernel would report anyway. Two kinds
/// of watch differ (see <see cref="AddWatches"/>): an edge-triggered watch whose edge the program
/// was already told of, and a one-shot watch that has fired (disabled: only its flag bits left;
/// epoll_ctl would arm it again for EPOLLERR|EPOLLHUP, which it always adds).
/// </summary>
internal static class EventPolls
{
    /// <summary>EPOLLET.</summary>
    private const uint EdgeTriggered = 1u << 31;

    /// <summary>Every event a watch can ask for (EPOLLIN … EPOLLMSG, EPOLLRDHUP; not EPOLLNVAL): what a fired one-shot watch is armed with for an instant to fire it again.</summary>
    private const uint AnyEvent = 0x27C7;

    public static EventPollFile Dump(FrozenProcess process, int fd, FdInfo info)
    {
        string file = $"/proc/{process.Pid}/fdinfo/{fd}";
        var watches = new List<EpollWatch>();
        foreach (var watch in ReadWatches(info, file))
        {
            if (EventPollFile.Problem(watch.Events) is { } why)
                throw new UnsupportedResourceException(process.Pid, $"fd {fd} (epoll)", $"its watch of fd {watch.TargetFd} has the event mask 0x{watch.Events:x}, which the image format cannot hold: {why}");
            if (!Native.WatchedFileIsOpenAt(process.Pid, fd, watch.TargetFd))
                throw new UnsupportedResourceException(process.Pid, $"fd {fd} (epoll)",
                    $"it watches a file as fd {watch.TargetFd}, but that number is closed or holds another file now (a restore could only watch it through its number)");
            watches.Add(watch);
        }
        return new EventPollFile(fd, [.. watches.OrderBy(w => w.TargetFd)]);
    }

    /// <summary>
    /// The EPQT of <paramref name="epoll"/>: when no event waits in it (poll on a copy of it, from
    /// cryo: the poll takes nothing off the ready list but entries whose file is no longer ready,
    /// which epoll_wait would drop too), its edge-triggered watches whose file is ready (a poll of
    /// a copy of each) have had their edge reported. Null when there are none, or when an event
    /// waits (which of them are edges still to report does not show), or without pidfd_getfd:
    /// no EPQT is the safe answer, one edge too many and never one lost.
    /// </summary>
    public static EventPollIdle? DumpIdle(int pid, EventPollFile epoll)
    {
        var edgeTriggered = epoll.Watches.Where(w => IsEdgeTriggered(w) && !IsOneShot(w)).ToList();
        if (edgeTriggered.Count == 0 || ReadyNow(pid, epoll.Fd, Native.POLLIN) is not false) return null;
        var reported = new List<int>();
        foreach (var watch in edgeTriggered)
        {
            switch (ReadyNow(pid, watch.TargetFd, (short)(watch.Events & AnyEvent)))
            {
                case null: return null;
                case true: reported.Add(watch.TargetFd); break;
            }
        }
        return reported.Count == 0 ? null : new EventPollIdle(epoll.Fd, [.. reported]);
    }

    /// <summary>Whether fd <paramref name="fd"/> of <paramref name="pid"/> polls ready for <paramref name="events"/> now, on a pidfd_getfd copy; null without one.</summary>
    private static bool? ReadyNow(int pid, int fd, short events)
    {
        int copy = FdTransfer.FromProcess(pid, fd);
        if (copy < 0) return null;
        try { return Native.PollNow(copy, events, $"pid {pid} fd {fd}") != 0; }
        finally { Native.Close(copy); }
    }

    public static int Open(string what) => Native.EpollCreate(what);

    /// <summary>
    /// Adds every watch inside the process (the watched numbers are its own), in two rounds.
    /// First the watches whose ready events the program must not see again: a fired one-shot
    /// watch, armed for every event so that a ready file fires it again, and each edge-triggered
    /// watch whose edge was reported (EPQT). An injected epoll_wait with no timeout then
    /// takes their events off the ready list, as the program's own epoll_wait had. A one-shot
    /// watch whose file is ready for nothing now did not fire: it is set back to its flags, and
    /// stays armed for EPOLLERR|EPOLLHUP (no epoll_ctl call can leave those out). Then every other
    /// watch is added, and queues what is ready, as the kernel would have it queued.
    /// </summary>
    public static void AddWatches(RestoringProcess process, WatchedEpoll epoll, string what)
    {
        var watches = epoll.File.Watches;
        var quietened = watches.Where(w => IsDisabledOneShot(w) || epoll.ReportedEdges.Contains(w.TargetFd)).ToList();
        var scratch = process.ScratchFor($"the watches of {what}");
        foreach (var watch in quietened)
            Control(process, scratch, epoll.File.Fd, Native.EPOLL_CTL_ADD, watch with { Events = IsDisabledOneShot(watch) ? watch.Events | AnyEvent : watch.Events }, what);
        if (quietened.Count > 0)
        {
            TakeReadyEvents(process, scratch, epoll.File.Fd, quietened.Count, what);
            var armed = ReadWatches(ProcFdInfo.Read(process.Pid, epoll.File.Fd), $"/proc/{process.Pid}/fdinfo/{epoll.File.Fd}")
                .Where(w => (w.Events & ~EventPollFile.FlagBits) != 0).Select(w => w.TargetFd).ToHashSet();
            foreach (var watch in quietened.Where(w => IsDisabledOneShot(w) && armed.Contains(w.TargetFd)))
                Control(process, scratch, epoll.File.Fd, Native.EPOLL_CTL_MOD, watch, what);
        }
        foreach (var watch in watches.Except(quietened))
            Control(process, scratch, epoll.File.Fd, Native.EPOLL_CTL_ADD, watch, what);
    }

    /// <summary>epoll_wait(fd, scratch, n, 0) until it returns fewer events than asked for (each reported watch here leaves the ready list).</summary>
    private static void TakeReadyEvents(RestoringProcess process, RemoteScratch scratch, int fd, int watches, string what)
    {
        int room = scratch.Size / EventSize;
        for (int round = 0; round <= watches / room + 1; round++)
        {
            long taken = process.Syscalls.Invoke(InjectedCalls.EpollWait, fd, (long)scratch.Address, room, 0);
            if (taken < 0)
                throw new SysCallException("epoll_wait (injected)", (int)-taken, $"pid {process.Pid} {what}: taking the events already reported off its ready list");
            if (taken < room) return;
        }
        throw new InvalidOperationException($"pid {process.Pid} {what}: its ready list did not empty after {watches} watches' events were taken");
    }

    /// <summary>struct epoll_event, packed on x86-64: u32 events, u64 data.</summary>
    private const int EventSize = 12;

    private static void Control(RestoringProcess process, RemoteScratch scratch, int fd, int operation, EpollWatch watch, string what)
    {
        Span<byte> raw = stackalloc byte[EventSize];
        BitConverter.TryWriteBytes(raw, watch.Events);
        BitConverter.TryWriteBytes(raw[4..], watch.Data);
        scratch.Write(0, raw);
        long result = process.Syscalls.Invoke(InjectedCalls.EpollCtl, fd, operation, watch.TargetFd, (long)scratch.Address);
        if (result < 0)
            throw new SysCallException($"epoll_ctl({(operation == Native.EPOLL_CTL_ADD ? "EPOLL_CTL_ADD" : "EPOLL_CTL_MOD")}) (injected)", (int)-result,
                $"pid {process.Pid} {what}: watching fd {watch.TargetFd} for events 0x{watch.Events:x}");
    }

    private static bool IsEdgeTriggered(EpollWatch watch) => (watch.Events & EdgeTriggered) != 0;
    private static bool IsOneShot(EpollWatch watch) => (watch.Events & EventPollFile.OneShot) != 0;
    private static bool IsDisabledOneShot(EpollWatch watch) => IsOneShot(watch) && (watch.Events & ~EventPollFile.FlagBits) == 0;

    /// <summary>The watches of fdinfo's "tfd:" lines, as the kernel keeps them.</summary>
    private static IEnumerable<EpollWatch> ReadWatches(FdInfo info, string file)
    {
        foreach (var line in info.Lines.Where(l => l.Key == "tfd"))
        {
            // "3 events: 80000019 data: 1234  pos:0 ino:40e sdev:10"
            var words = line.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int events = Array.IndexOf(words, "events:"), data = Array.IndexOf(words, "data:");
            if (events < 0 || data < 0 || events + 1 >= words.Length || data + 1 >= words.Length
                || !int.TryParse(words[0], CultureInfo.InvariantCulture, out int target)
                || !uint.TryParse(words[events + 1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint mask)
                || !ulong.TryParse(words[data + 1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value))
                throw new ProcFormatException(file, $"unexpected epoll line 'tfd: {line.Value}'");
            yield return new EpollWatch(target, mask, value);
        }
    }
}

/// <summary>An epoll instance whose watches a process adds at the restore (it holds the description's first EPOL), and the watches whose edge was reported (its EPQT).</summary>
internal sealed class WatchedEpoll(EventPollFile file)
{
    public EventPollFile File { get; } = file;
    public IReadOnlyCollection<int> ReportedEdges { get; set; } = [];
}
