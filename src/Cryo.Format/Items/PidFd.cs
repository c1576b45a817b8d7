namespace Cryo.Format;

/// <summary>
/// <c>PIDF</c>: a pidfd (pidfd_open, clone's CLONE_PIDFD) behind a descriptor: the process it
/// refers to, by pid. Written right after the first <c>FDES</c> (kind 7, anonymous inode,
/// <c>anon_inode:[pidfd]</c>) of the open file description in each process that has it. Only
/// pidfds of processes of the checkpointed tree (live or zombie) are written: a restore opens a
/// pidfd of the process it made with that pid, with the description's O_NONBLOCK.
/// </summary>
public sealed record PidFd(int Fd, int Pid) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("PIDF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w) { w.I32(Fd); w.I32(Pid); }

    public static PidFd Decode(ref PayloadReader r)
    {
        int fd = r.I32("fd");
        if (fd < 0) throw r.Invalid("fd", fd, "descriptor numbers are not negative");
        int pid = r.I32("pid");
        if (pid <= 0) throw r.Invalid("pid", pid, "a pid is positive");
        return new PidFd(fd, pid);
    }

    public override IReadOnlyList<ItemField> Describe() => [ItemField.Num("fd", (long)Fd), ItemField.Pid("pid", Pid)];
}
