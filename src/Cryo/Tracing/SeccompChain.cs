using System.Buffers.Binary;
using Cryo.Format;

namespace Cryo.Tracing;

/// <summary>
/// A thread's seccomp state as the kernel applies it to each of its system calls: strict mode, or
/// a chain of classic BPF filters, every one of which sees the call and the most restrictive
/// answer of which wins (seccomp_run_filters). cryo runs it over each call it injects into such a
/// thread before injecting it: a call the filters would refuse, trap, or answer by killing the
/// thread or the process is not made, and the checkpoint or restore stops with a clear message
/// instead (<see cref="SyscallFilteredException"/>).
/// </summary>
internal sealed class SeccompChain
{
    public const uint AuditArchX86_64 = 0xc000003e;
    public const uint RetKillProcess = 0x80000000, RetKillThread = 0, RetTrap = 0x00030000, RetErrno = 0x00050000,
        RetUserNotif = 0x7fc00000, RetTrace = 0x7ff00000, RetLog = 0x7ffc0000, RetAllow = 0x7fff0000;
    private const uint ActionFull = 0xffff0000, Data = 0x0000ffff;
    private const int SeccompDataSize = 64;

    // What strict mode (SECCOMP_MODE_STRICT) allows on x86-64: read, write, exit, rt_sigreturn.
    private static readonly HashSet<long> StrictAllowed = [0, 1, 60, 15];

    private SeccompChain(bool strict, IReadOnlyList<(BpfInstruction[] Program, uint Flags)> filters)
    {
        Strict = strict;
        Filters = filters;
    }

    public bool Strict { get; }

    /// <summary>The filters with their flags (SECCOMP_FILTER_FLAG_LOG), the first installed first.</summary>
    public IReadOnlyList<(BpfInstruction[] Program, uint Flags)> Filters { get; }

    public static SeccompChain StrictMode() => new(true, []);

    public static SeccompChain Of(IReadOnlyList<(BpfInstruction[] Program, uint Flags)> filtersFirstInstalledFirst) => new(false, filtersFirstInstalledFirst);

    /// <summary>The seccomp state of stopped thread <paramref name="tid"/>: null if it has none (mode from /proc/PID/task/TID/status, filters by ptrace).</summary>
    public static SeccompChain? Read(Tracer tracer, int pid, int tid)
    {
        string path = $"/proc/{pid}/task/{tid}/status";
        int mode = Proc.ProcStatus.Parse(Proc.ProcFiles.ReadText(path), path).SeccompMode;
        if (mode == 0) return null;
        if (mode == 1) return StrictMode();
        return Of([.. tracer.GetSeccompFilters(tid).Select(f => (Decode(f.Program), (uint)f.Flags))]);
    }

    /// <summary>The instructions of a PTRACE_SECCOMP_GET_FILTER buffer (8 bytes each: code, jt, jf, k).</summary>
    public static BpfInstruction[] Decode(ReadOnlySpan<byte> raw)
    {
        var program = new BpfInstruction[raw.Length / 8];
        for (int i = 0; i < program.Length; i++)
        {
            var at = raw.Slice(i * 8, 8);
            program[i] = new BpfInstruction(BinaryPrimitives.ReadUInt16LittleEndian(at), at[2], at[3], BinaryPrimitives.ReadUInt32LittleEndian(at[4..]));
        }
        return program;
    }

    /// <summary>The instructions as the kernel takes them (struct sock_filter, 8 bytes each): what <see cref="Decode"/> reads.</summary>
    public static byte[] Encode(BpfInstruction[] program)
    {
        var raw = new byte[program.Length * 8];
        for (int i = 0; i < program.Length; i++)
        {
            var at = raw.AsSpan(i * 8, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(at, program[i].Code);
            at[2] = program[i].JumpTrue;
            at[3] = program[i].JumpFalse;
            BinaryPrimitives.WriteUInt32LittleEndian(at[4..], program[i].K);
        }
        return raw;
    }

    /// <summary>The bytes of <see cref="FilterArgument"/> for <paramref name="program"/>.</summary>
    public static int FilterArgumentSize(BpfInstruction[] program) => 16 + program.Length * 8;

    /// <summary>
    /// What seccomp(SECCOMP_SET_MODE_FILTER) takes, to be written at <paramref name="address"/> in
    /// the process: struct sock_fprog { unsigned short len; struct sock_filter *filter; } (16
    /// bytes), the filter pointing just past it at the program.
    /// </summary>
    public static byte[] FilterArgument(BpfInstruction[] program, ulong address)
    {
        var bytes = new byte[FilterArgumentSize(program)];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)program.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), address + 16);
        Encode(program).CopyTo(bytes, 16);
        return bytes;
    }

    /// <summary>The action the thread's seccomp state takes on <paramref name="call"/> made at the syscall instruction at <paramref name="site"/>.</summary>
    public uint Evaluate(SyscallRequest call, ulong site)
    {
        if (Strict) return StrictAllowed.Contains(call.Number) ? RetAllow : RetKillThread;
        Span<byte> data = stackalloc byte[SeccompDataSize];
        BinaryPrimitives.WriteInt32LittleEndian(data, (int)call.Number);
        BinaryPrimitives.WriteUInt32LittleEndian(data[4..], AuditArchX86_64);
        // instruction_pointer: the thread's rip at the call's entry, just past the 2-byte syscall instruction.
        BinaryPrimitives.WriteUInt64LittleEndian(data[8..], site + 2);
        long[] args = [call.Arg1, call.Arg2, call.Arg3, call.Arg4, call.Arg5, call.Arg6];
        for (int i = 0; i < 6; i++) BinaryPrimitives.WriteInt64LittleEndian(data[(16 + 8 * i)..], args[i]);
        // As seccomp_run_filters: from the newest filter down, a later filter's answer replaces the
        // one so far only if it is strictly more restrictive, so of two ERRNO answers the newest
        // filter's errno is the one returned. Actions compare as signed 32-bit numbers:
        // SECCOMP_RET_KILL_PROCESS (0x80000000) is the most restrictive.
        uint result = RetAllow;
        for (int f = Filters.Count - 1; f >= 0; f--)
        {
            uint action = Run(Filters[f].Program, data);
            if ((int)(action & ActionFull) < (int)(result & ActionFull)) result = action;
        }
        return result;
    }

    /// <summary>Whether the action lets the call run (SECCOMP_RET_ALLOW, or SECCOMP_RET_LOG: allowed and logged).</summary>
    public static bool Allows(uint action) => (action & ActionFull) is RetAllow or RetLog;

    public static string Describe(uint action) => (action & ActionFull) switch
    {
        RetKillProcess => "SECCOMP_RET_KILL_PROCESS (the process would be killed)",
        RetKillThread => "SECCOMP_RET_KILL_THREAD (the thread would be killed)",
        RetTrap => $"SECCOMP_RET_TRAP (a SIGSYS, data {action & Data})",
        RetErrno => $"SECCOMP_RET_ERRNO ({Interop.ErrnoNames.Name((int)(action & Data))})",
        RetUserNotif => "SECCOMP_RET_USER_NOTIF (handed to a supervisor)",
        RetTrace => "SECCOMP_RET_TRACE (for a tracer that asks for seccomp events; refused without one)",
        RetLog => "SECCOMP_RET_LOG",
        RetAllow => "SECCOMP_RET_ALLOW",
        _ => $"action 0x{action:x8}",
    };

    /// <summary>
    /// Runs one classic BPF program over seccomp_data as the kernel does (the instructions
    /// seccomp_check_filter accepts: loads of 32-bit words of the data, its length, immediates and
    /// scratch memory, stores, arithmetic, jumps forward, returns). Returns the program's action.
    /// </summary>
    internal static uint Run(BpfInstruction[] program, ReadOnlySpan<byte> data)
    {
        Span<uint> memory = stackalloc uint[16];
        memory.Clear();
        uint a = 0, x = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            var i = program[pc];
            uint operand = (i.Code & 0x08) != 0 ? x : i.K; // BPF_X or BPF_K
            switch (i.Code & 0x07)
            {
                case 0x00: // BPF_LD
                    a = (i.Code & 0xe0) switch
                    {
                        0x00 => i.K,                                                    // BPF_IMM
                        0x20 => Word(data, i.K),                                        // BPF_ABS (BPF_W)
                        0x60 => memory[(int)(i.K & 15)],                                // BPF_MEM
                        0x80 => SeccompDataSize,                                        // BPF_LEN
                        _ => throw Unknown(i, pc),
                    };
                    break;
                case 0x01: // BPF_LDX
                    x = (i.Code & 0xe0) switch
                    {
                        0x00 => i.K,
                        0x60 => memory[(int)(i.K & 15)],
                        0x80 => SeccompDataSize,
                        _ => throw Unknown(i, pc),
                    };
                    break;
                case 0x02: memory[(int)(i.K & 15)] = a; break; // BPF_ST
                case 0x03: memory[(int)(i.K & 15)] = x; break; // BPF_STX
                case 0x04: // BPF_ALU
                    switch (i.Code & 0xf0)
                    {
                        case 0x00: a += operand; break;
                        case 0x10: a -= operand; break;
                        case 0x20: a *= operand; break;
                        case 0x30: if (operand == 0) return 0; a /= operand; break; // division by zero ends the program with 0
                        case 0x40: a |= operand; break;
                        case 0x50: a &= operand; break;
                        case 0x60: a <<= (int)(operand & 31); break; // the kernel's interpreter masks the count
                        case 0x70: a >>= (int)(operand & 31); break;
                        case 0x80: a = (uint)-(int)a; break;
                        case 0x90: if (operand == 0) return 0; a %= operand; break;
                        case 0xa0: a ^= operand; break;
                        default: throw Unknown(i, pc);
                    }
                    break;
                case 0x05: // BPF_JMP
                    switch (i.Code & 0xf0)
                    {
                        case 0x00: pc += (int)i.K; break; // BPF_JA
                        case 0x10: pc += a == operand ? i.JumpTrue : i.JumpFalse; break;
                        case 0x20: pc += a > operand ? i.JumpTrue : i.JumpFalse; break;
                        case 0x30: pc += a >= operand ? i.JumpTrue : i.JumpFalse; break;
                        case 0x40: pc += (a & operand) != 0 ? i.JumpTrue : i.JumpFalse; break;
                        default: throw Unknown(i, pc);
                    }
                    break;
                case 0x06: // BPF_RET
                    return (i.Code & 0x18) switch { 0x00 => i.K, 0x10 => a, 0x08 => x, _ => throw Unknown(i, pc) };
                case 0x07: // BPF_MISC
                    if ((i.Code & 0xf8) == 0x00) x = a; // BPF_TAX
                    else if ((i.Code & 0xf8) == 0x80) a = x; // BPF_TXA
                    else throw Unknown(i, pc);
                    break;
            }
        }
        throw new InvalidOperationException("a seccomp filter ran past its last instruction without returning, which the kernel does not accept");
    }

    private static uint Word(ReadOnlySpan<byte> data, uint offset) =>
        offset <= SeccompDataSize - 4 && offset % 4 == 0 ? BinaryPrimitives.ReadUInt32LittleEndian(data[(int)offset..])
            : throw new InvalidOperationException($"a seccomp filter loads seccomp_data at offset {offset}, which the kernel does not accept");

    private static InvalidOperationException Unknown(BpfInstruction i, int pc) =>
        new($"a seccomp filter has instruction 0x{i.Code:x4} at {pc}, which the kernel's seccomp_check_filter does not accept");
}

/// <summary>An injected call a thread's seccomp filters would not let run: it was not made.</summary>
internal sealed class SyscallFilteredException(int tid, long number, uint action)
    : InvalidOperationException($"tid {tid}: its seccomp filters would answer the system call {number} that cryo needs to make in it with " +
                                $"{SeccompChain.Describe(action)}, so cryo does not make it")
{
    public int Tid { get; } = tid;
}
