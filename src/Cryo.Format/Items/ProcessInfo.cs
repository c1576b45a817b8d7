namespace Cryo.Format;

/// <summary>Where a process stands: running (or blocked), ended and not yet reaped, or stopped by job control.</summary>
public enum ProcessState : byte { Alive = 0, Zombie = 1, Stopped = 2 }

/// <summary><c>PINF</c>: who a process is and where it stands in the tree. First item of a <c>PROC</c> section.</summary>
public sealed record ProcessInfo(
    int Pid, int ParentPid, int ProcessGroupId, int SessionId,
    ProcessState State, int ExitStatus,
    uint Personality, uint Umask,
    byte Dumpable, byte NoNewPrivileges, byte ChildSubreaper, uint ParentDeathSignal,
    uint ThreadCount,
    byte[] Comm, byte[] ExePath, byte[] Cwd, byte[] Root) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("PINF");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.I32(Pid); w.I32(ParentPid); w.I32(ProcessGroupId); w.I32(SessionId);
        w.U8((byte)State); w.I32(ExitStatus);
        w.U32(Personality); w.U32(Umask);
        w.U8(Dumpable); w.U8(NoNewPrivileges); w.U8(ChildSubreaper); w.U32(ParentDeathSignal);
        w.U32(ThreadCount);
        w.Bytes16(Comm); w.Bytes16(ExePath); w.Bytes16(Cwd); w.Bytes16(Root);
    }

    public static ProcessInfo Decode(ref PayloadReader r)
    {
        int pid = r.I32("pid"), ppid = r.I32("ppid"), pgid = r.I32("pgid"), sid = r.I32("sid");
        byte state = r.U8("state");
        if (state > (byte)ProcessState.Stopped) throw r.Invalid("state", state, "known states are 0 (alive), 1 (zombie) and 2 (stopped)");
        int exitStatus = r.I32("exit_status");
        uint personality = r.U32("personality"), umask = r.U32("umask");
        byte dumpable = r.U8("dumpable"), noNewPrivs = Boolean(ref r, "no_new_privs"), subreaper = Boolean(ref r, "child_subreaper");
        return new ProcessInfo(pid, ppid, pgid, sid, (ProcessState)state, exitStatus, personality, umask,
            dumpable, noNewPrivs, subreaper, r.U32("pdeath_signal"),
            r.U32("thread_count"),
            r.Bytes16("comm"), r.Bytes16("exe"), r.Bytes16("cwd"), r.Bytes16("root"));
    }

    private static byte Boolean(ref PayloadReader r, string field)
    {
        byte value = r.U8(field);
        return value <= 1 ? value : throw r.Invalid(field, value, "a boolean is 0 or 1");
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Pid("pid", Pid), ItemField.Pid("ppid", ParentPid), ItemField.Pid("pgid", ProcessGroupId), ItemField.Pid("sid", SessionId),
        ItemField.Num("state", (ulong)State), ItemField.Num("exit_status", (long)ExitStatus),
        ItemField.Hex("personality", Personality), ItemField.Hex("umask", Umask),
        ItemField.Num("dumpable", (ulong)Dumpable), ItemField.Num("no_new_privs", (ulong)NoNewPrivileges),
        ItemField.Num("child_subreaper", (ulong)ChildSubreaper), ItemField.Num("pdeath_signal", (ulong)ParentDeathSignal),
        ItemField.Num("thread_count", (ulong)ThreadCount),
        ItemField.Text("comm", Comm), ItemField.Text("exe", ExePath), ItemField.Text("cwd", Cwd), ItemField.Text("root", Root),
    ];
}
