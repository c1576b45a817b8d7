using System.Buffers.Binary;
using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>A raw 128-byte siginfo_t with its common header decoded.</summary>
internal sealed record SigInfo(byte[] Raw)
{
    public const int Size = 128;

    public int Signal => BinaryPrimitives.ReadInt32LittleEndian(Raw);
    public int Errno => BinaryPrimitives.ReadInt32LittleEndian(Raw.AsSpan(4));
    public int Code => BinaryPrimitives.ReadInt32LittleEndian(Raw.AsSpan(8));

    /// <summary>si_pid of signals sent by kill/sigqueue (SI_USER, SI_QUEUE, SI_TKILL).</summary>
    public int SenderPid => BinaryPrimitives.ReadInt32LittleEndian(Raw.AsSpan(16));

    public override string ToString() => $"{Signals.Name(Signal)} code={Code} errno={Errno}";
}

/// <summary>struct ptrace_rseq_configuration (PTRACE_GET_RSEQ_CONFIGURATION, kernel 5.13+).</summary>
internal readonly record struct RseqConfiguration(ulong AbiPointer, uint AbiSize, uint Signature, uint Flags)
{
    public bool Registered => AbiPointer != 0;
}

/// <summary>The FPU/SSE/AVX register state (NT_X86_XSTATE) in the kernel's XSAVE layout.</summary>
internal sealed record XState(byte[] Bytes)
{
    // The kernel stores the XCR0 feature mask in the software-reserved bytes of the legacy area.
    private const int Xcr0Offset = 464;

    /// <summary>The enabled feature mask (XCR0) this state was saved with.</summary>
    public ulong FeatureMask => BinaryPrimitives.ReadUInt64LittleEndian(Bytes.AsSpan(Xcr0Offset));
}

/// <summary>The tracee died while being traced (killed, or exited), so the operation cannot complete.</summary>
internal sealed class TraceeGoneException(string operation, WaitStatus status)
    : Exception($"{operation}: {status}")
{
    public WaitStatus Status { get; } = status;
}

/// <summary>A tracee reported a stop the operation cannot handle (e.g. a fault during an injected syscall).</summary>
internal sealed class UnexpectedStopException(string operation, WaitStatus status, string detail)
    : Exception($"{operation}: unexpected {status}; {detail}")
{
    public WaitStatus Status { get; } = status;
}
