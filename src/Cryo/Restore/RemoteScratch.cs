using Cryo.Tracing;

namespace Cryo.Restore;

/// <summary>
/// A private page mapped into a restoring process for injected syscalls that take pointers
/// (paths, structs). Memory creates it in a hole of the restored layout at the start of the
/// finish phase and Threads unmaps it before the registers go back, so the program never sees it.
/// </summary>
internal sealed class RemoteScratch(RemoteMemory memory, ulong address, int size)
{
    public ulong Address { get; } = address;
    public int Size { get; } = size;

    public void Write(int offset, ReadOnlySpan<byte> data)
    {
        if (offset < 0 || offset + data.Length > Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"scratch write of {data.Length} bytes at {offset} exceeds {Size} bytes in pid {memory.Pid}");
        memory.Write(Address + (ulong)offset, data);
    }

    public void Read(int offset, Span<byte> destination)
    {
        if (offset < 0 || offset + destination.Length > Size)
            throw new ArgumentOutOfRangeException(nameof(offset), $"scratch read of {destination.Length} bytes at {offset} exceeds {Size} bytes in pid {memory.Pid}");
        memory.Read(Address + (ulong)offset, destination);
    }

    /// <summary>Writes a NUL-terminated path at <paramref name="offset"/> and returns its address.</summary>
    public ulong WriteCString(int offset, ReadOnlySpan<byte> text)
    {
        var bytes = new byte[text.Length + 1];
        text.CopyTo(bytes);
        Write(offset, bytes);
        return Address + (ulong)offset;
    }
}
