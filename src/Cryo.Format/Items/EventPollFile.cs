namespace Cryo.Format;

/// <summary>One file an epoll instance watches: the descriptor number it was added through, the events asked for, and the caller's data.</summary>
public readonly record struct EpollWatch(int TargetFd, uint Events, ulong Data);

/// <summary>
/// <c>EPOL</c>: the interest list of the epoll instance behind one descriptor (epoll_ctl
/// EPOLL_CTL_ADD / MOD), in ascending order of the watched descriptor: each watched file is the
/// one open at that number in the same process. <see cref="EpollWatch.Events"/> is the event mask
/// as the kernel keeps it (with EPOLLERR and EPOLLHUP, which it always adds, and after an
/// EPOLLONESHOT event has fired, only the flag bits). Written right after the first <c>FDES</c>
/// of the open file description in each process that has it; a restore adds the watches inside
/// that process once all its descriptors are in place.
/// </summary>
public sealed record EventPollFile(int Fd, EpollWatch[] Watches) : CheckpointItem
{
    /// <summary>EPOLLIN … EPOLLMSG (0x1 … 0x400), EPOLLRDHUP, EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET.</summary>
    public const uint KnownEvents = 0xF000_27FF;

    /// <summary>EPOLLERR | EPOLLHUP: Linux adds both to every watch (EPOLL_CTL_ADD and MOD).</summary>
    public const uint ErrorAndHangUp = 0x18;

    public const uint Exclusive = 1u << 28, OneShot = 1u << 30; // EPOLLEXCLUSIVE, EPOLLONESHOT

    /// <summary>EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLONESHOT, EPOLLET (the kernel's EP_PRIVATE_BITS): all that a fired one-shot watch keeps.</summary>
    public const uint FlagBits = 0xF000_0000;

    /// <summary>What EPOLLEXCLUSIVE may come with (the kernel's EPOLLEXCLUSIVE_OK_BITS): EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLWAKEUP, EPOLLET.</summary>
    public const uint ExclusiveCompatible = 0xB000_001D;

    public static readonly ItemTag TagValue = ItemTag.Parse("EPOL");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Fd);
        w.Count(Watches.Length);
        foreach (var watch in Watches) { w.I32(watch.TargetFd); w.U32(watch.Events); w.U64(watch.Data); }
    }

    public static EventPollFile Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        var watches = new EpollWatch[r.Count("watches", 16)];
        int previous = -1;
        for (int i = 0; i < watches.Length; i++)
        {
            int target = previous = ReadTarget(ref r, previous, fd);
            uint events = r.U32("events");
            if (Problem(events) is { } why) throw r.Invalid("events", $"0x{events:x}", why);
            watches[i] = new EpollWatch(target, events, r.U64("data"));
        }
        return new EventPollFile(fd, watches);
    }

    /// <summary>A watched descriptor of a list of them (EPOL's watches, EPQT's edges): ≥ 0, above the previous one, not the epoll's own <paramref name="fd"/>.</summary>
    internal static int ReadTarget(ref PayloadReader r, int previous, int fd)
    {
        int target = r.I32("target_fd");
        if (target < 0) throw r.Invalid("target_fd", target, "descriptor numbers are not negative");
        if (target <= previous) throw r.Invalid("target_fd", target, $"watched descriptors ascend without repeats (the previous one is {previous})");
        if (target == fd) throw r.Invalid("target_fd", target, "an epoll instance cannot watch itself");
        return target;
    }

    /// <summary>Why <paramref name="events"/> cannot be a watch's event mask as Linux keeps it, or null.</summary>
    public static string? Problem(uint events) =>
        (events & ~KnownEvents) != 0 ? $"only bits 0x{KnownEvents:x} are epoll event bits"
        : (events & Exclusive) != 0 && (events & ~ExclusiveCompatible) != 0
            ? $"EPOLLEXCLUSIVE goes only with bits 0x{ExclusiveCompatible:x} (epoll_ctl refuses the others)"
        : (events & ErrorAndHangUp) != ErrorAndHangUp && ((events & OneShot) == 0 || (events & ~FlagBits) != 0)
            ? "Linux adds EPOLLERR and EPOLLHUP (0x18) to every watch; only a fired EPOLLONESHOT watch lacks them, with nothing but flag bits (0xf0000000) left"
        : null;

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("fd", (long)Fd),
        ItemField.List("watches", Watches.Select(w => (IReadOnlyList<ItemField>)
            [ItemField.Num("target_fd", (long)w.TargetFd), ItemField.Hex("events", w.Events), ItemField.Hex("data", w.Data)]).ToArray()),
    ];
}
