using System.Runtime.InteropServices;

namespace Cryo.Tracing;

/// <summary>
/// struct user_regs_struct of x86-64 (27 words, 216 bytes) as PTRACE_GETREGSET NT_PRSTATUS
/// returns it, field order included. Includes fs_base/gs_base (the TLS pointers).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct UserRegs
{
    public ulong R15, R14, R13, R12, Rbp, Rbx, R11, R10, R9, R8;
    public ulong Rax, Rcx, Rdx, Rsi, Rdi;

    /// <summary>Syscall number at syscall entry; -1 (all ones) outside a syscall.</summary>
    public ulong OrigRax;

    public ulong Rip, Cs, Eflags, Rsp, Ss, FsBase, GsBase, Ds, Es, Fs, Gs;

    public const int Size = 27 * 8;

    /// <summary>The value of orig_rax that tells the kernel "not in a syscall, do not restart".</summary>
    public const ulong NoSyscall = ulong.MaxValue;

    public override readonly string ToString() =>
        $"rip={Rip:x} rsp={Rsp:x} rax={(long)Rax} orig_rax={(long)OrigRax} rdi={Rdi:x} rsi={Rsi:x} " +
        $"rdx={Rdx:x} r10={R10:x} r8={R8:x} r9={R9:x} eflags={Eflags:x} fs_base={FsBase:x}";
}
