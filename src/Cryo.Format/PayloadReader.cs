using System.Buffers.Binary;

namespace Cryo.Format;

/// <summary>
/// Reads an item payload field by field. Every read is bounds-checked; a short payload or a count
/// that does not fit the bytes that remain raises <see cref="CheckpointFormatException"/> naming
/// the field, before anything is allocated for it.
/// </summary>
public ref struct PayloadReader
{
    private readonly ReadOnlySpan<byte> _payload;
    private readonly long _payloadOffset;
    private readonly string _item;
    private int _position;

    public PayloadReader(ReadOnlySpan<byte> payload, long payloadOffset, string item)
    {
        _payload = payload;
        _payloadOffset = payloadOffset;
        _item = item;
        _position = 0;
    }

    public readonly int Remaining => _payload.Length - _position;

    public readonly CheckpointFormatException Error(string reason) =>
        new(_payloadOffset + _position, _item, reason);

    private ReadOnlySpan<byte> Take(int count, string field)
    {
        if (count < 0 || count > Remaining)
            throw Error($"field '{field}' needs {count} bytes but only {Remaining} remain in the payload");
        var span = _payload.Slice(_position, count);
        _position += count;
        return span;
    }

    public byte U8(string field) => Take(1, field)[0];
    public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));
    public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));
    public int I32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Take(4, field));
    public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));
    public long I64(string field) => BinaryPrimitives.ReadInt64LittleEndian(Take(8, field));

    public byte[] Bytes16(string field)
    {
        int length = U16(field + ".length");
        if (length > FormatLimits.MaxBytesString)
            throw Error($"field '{field}' is {length} bytes long, over the limit of {FormatLimits.MaxBytesString}");
        return Take(length, field).ToArray();
    }

    public ReadOnlySpan<byte> Raw(int count, string field) => Take(count, field);

    public ReadOnlySpan<byte> Rest() => Take(Remaining, "rest");

    /// <summary>A u32 list count whose entries are <paramref name="entrySize"/> bytes each.</summary>
    public int Count(string field, int entrySize)
    {
        uint count = U32(field + ".count");
        if (count > FormatLimits.MaxListEntries)
            throw Error($"list '{field}' claims {count} entries, over the limit of {FormatLimits.MaxListEntries}");
        if ((long)count * entrySize > Remaining)
            throw Error($"list '{field}' claims {count} entries of {entrySize} bytes but only {Remaining} bytes remain");
        return (int)count;
    }

    /// <summary>
    /// A <c>start</c>, <c>end</c> pair of u64 addresses of a list that ascends without overlap:
    /// end after start, start not before <paramref name="previousEnd"/> (updated). <paramref name="one"/>
    /// and <paramref name="many"/> name the entries in the errors ("an area", "areas").
    /// </summary>
    public (ulong Start, ulong End) AscendingRange(ref ulong previousEnd, string one, string many)
    {
        ulong start = U64("start"), end = U64("end");
        if (end <= start) throw Invalid("end", $"0x{end:x}", $"{one} ends after it starts (start 0x{start:x})");
        if (start < previousEnd) throw Invalid("start", $"0x{start:x}", $"{many} ascend without overlap (the previous one ends at 0x{previousEnd:x})");
        previousEnd = end;
        return (start, end);
    }

    public readonly void End()
    {
        if (Remaining != 0)
            throw Error($"{Remaining} unexpected bytes after the last field");
    }

    public readonly CheckpointFormatException Invalid(string field, object value, string why) =>
        Error($"field '{field}' has invalid value {value}: {why}");
}
