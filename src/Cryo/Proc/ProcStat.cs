namespace Cryo.Proc;

/// <summary>The fields of /proc/PID/stat that checkpointing needs (see proc(5) for meanings).</summary>
internal sealed record ProcessStat(
    int Pid,
    string Comm,
    char State,
    int ParentPid,
    int ProcessGroup,
    int Session,
    int TtyNr,
    int ForegroundProcessGroup,
    uint Flags,
    long Priority,
    long Nice,
    int NumThreads,
    ulong StartTime,
    ulong VirtualSize,
    long ResidentPages,
    ulong StartCode,
    ulong EndCode,
    ulong StartStack,
    int ExitSignal,
    int Processor,
    uint RealtimePriority,
    uint Policy,
    ulong StartData,
    ulong EndData,
    ulong StartBrk,
    ulong ArgStart,
    ulong ArgEnd,
    ulong EnvStart,
    ulong EnvEnd,
    int ExitCode);

/// <summary>Parser of /proc/PID/stat and /proc/PID/task/TID/stat.</summary>
internal static class ProcStat
{
    public static ProcessStat Read(int pid) => Parse(ProcFiles.ReadText(pid, "stat"), ProcFiles.PathOf(pid, "stat"));

    public static ProcessStat Parse(string text, string file = "stat")
    {
        // comm may contain spaces and ')' itself: it runs from the first '(' to the LAST ')'.
        int open = text.IndexOf('(');
        int close = text.LastIndexOf(')');
        if (open < 0 || close < open)
            throw new ProcFormatException(file, "no '(comm)' field");

        string[] fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state) of proc(5); exit_code is field 52.
        const int firstField = 3, lastNeeded = 52;
        if (fields.Length < lastNeeded - firstField + 1)
            throw new ProcFormatException(file, $"only {fields.Length + 2} fields, expected at least {lastNeeded}");

        long Signed(int number) => ProcFiles.ParseLong(fields[number - firstField], file, $"field {number}");
        ulong Unsigned(int number) => ProcFiles.ParseULong(fields[number - firstField], file, $"field {number}");

        return new ProcessStat(
            Pid: (int)ProcFiles.ParseLong(text.AsSpan(0, open).Trim(), file, "pid"),
            Comm: text[(open + 1)..close],
            State: fields[0][0],
            ParentPid: (int)Signed(4),
            ProcessGroup: (int)Signed(5),
            Session: (int)Signed(6),
            TtyNr: (int)Signed(7),
            ForegroundProcessGroup: (int)Signed(8),
            Flags: (uint)Unsigned(9),
            Priority: Signed(18),
            Nice: Signed(19),
            NumThreads: (int)Signed(20),
            StartTime: Unsigned(22),
            VirtualSize: Unsigned(23),
            ResidentPages: Signed(24),
            StartCode: Unsigned(26),
            EndCode: Unsigned(27),
            StartStack: Unsigned(28),
            ExitSignal: (int)Signed(38),
            Processor: (int)Signed(39),
            RealtimePriority: (uint)Unsigned(40),
            Policy: (uint)Unsigned(41),
            StartData: Unsigned(45),
            EndData: Unsigned(46),
            StartBrk: Unsigned(47),
            ArgStart: Unsigned(48),
            ArgEnd: Unsigned(49),
            EnvStart: Unsigned(50),
            EnvEnd: Unsigned(51),
            ExitCode: (int)Signed(52));
    }
}
