using System.Buffers.Binary;

namespace Cryo.Format;

/// <summary>Builds an item payload field by field, little-endian, with explicit widths.</summary>
public sealed class PayloadWriter
{
    private byte[] _buffer;
    private int _length;

    public PayloadWriter(int capacity = 256) => _buffer = new byte[capacity];

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public void Clear() => _length = 0;

    private Span<byte> Take(int count)
    {
        if (_length + count > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    public void U8(byte v) => Take(1)[0] = v;
    public void U16(ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(Take(2), v);
    public void U32(uint v) => BinaryPrimitives.WriteUInt32LittleEndian(Take(4), v);
    public void I32(int v) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), v);
    public void U64(ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(Take(8), v);
    public void I64(long v) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), v);

    /// <summary>A byte string: u16 length, then the bytes (no terminator). Paths are bytes on Linux, not text.</summary>
    public void Bytes16(ReadOnlySpan<byte> v)
    {
        if (v.Length > FormatLimits.MaxBytesString)
            throw new ArgumentException($"byte string of {v.Length} bytes exceeds the limit of {FormatLimits.MaxBytesString}");
        U16((ushort)v.Length);
        v.CopyTo(Take(v.Length));
    }

    /// <summary>Raw bytes that run to the end of the payload or have their length given elsewhere.</summary>
    public void Raw(ReadOnlySpan<byte> v) => v.CopyTo(Take(v.Length));

    /// <summary>A list count (u32), checked against the format's limit.</summary>
    public void Count(int count)
    {
        if (count > FormatLimits.MaxListEntries)
            throw new ArgumentException($"list of {count} entries exceeds the limit of {FormatLimits.MaxListEntries}");
        U32((uint)count);
    }
}
