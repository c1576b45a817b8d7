using Cryo.Proc;

namespace Cryo.Tracing;

/// <summary>
/// Temporary memory in a stopped tracee for injected syscalls that take pointers. At
/// checkpoint it lies below rsp - 128 (the red zone) - 4096 (margin) inside the stack mapping,
/// so nothing live is touched; the original bytes are saved and written back on Dispose.
/// (At restore, map a fresh area with an injected mmap(MAP_FIXED_NOREPLACE) instead.)
/// </summary>
internal sealed class ScratchArea : IDisposable
{
    private const ulong RedZone = 128, Margin = 4096;

    private readonly RemoteMemory memory;
    private readonly byte[] original;
    private bool restored;

    private ScratchArea(RemoteMemory memory, ulong address, byte[] original)
    {
        this.memory = memory;
        Address = address;
        this.original = original;
    }

    public ulong Address { get; }
    public int Size => original.Length;

    /// <summary>Claims <paramref name="size"/> bytes below the stack pointer <paramref name="rsp"/>.</summary>
    public static ScratchArea BelowStack(RemoteMemory memory, ulong rsp, int size, IEnumerable<MemoryMapping> mappings)
    {
        ulong end = (rsp - RedZone - Margin) & ~15UL;
        ulong start = (end - (ulong)size) & ~15UL;
        // Accesses through /proc/PID/mem do not grow a stack (since 6.5), so stay inside the mapping.
        var stack = ProcMaps.Containing(mappings, rsp - 1)
            ?? throw new InvalidOperationException($"scratch area of pid {memory.Pid}: rsp {rsp:x} is in no mapping");
        if (start < stack.Start || !stack.Protection.HasFlag(MappingProtection.Write))
            throw new InvalidOperationException(
                $"scratch area of pid {memory.Pid}: {start:x}-{end:x} does not fit in the writable mapping {stack} of rsp {rsp:x}");
        var original = new byte[size];
        memory.Read(start, original);
        return new ScratchArea(memory, start, original);
    }

    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        CheckBounds(offset, data.Length);
        memory.Write(Address + (ulong)offset, data);
    }

    public void Read(int offset, Span<byte> destination)
    {
        CheckBounds(offset, destination.Length);
        memory.Read(Address + (ulong)offset, destination);
    }

    /// <summary>Writes the original bytes back.</summary>
    public void Dispose()
    {
        if (restored) return;
        memory.Write(Address, original);
        restored = true;
    }

    private void CheckBounds(int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"scratch area of pid {memory.Pid} holds {Size} bytes; access at {offset}+{length}");
    }
}
