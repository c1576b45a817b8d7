using System.Buffers.Binary;
using System.Text;
using Cryo.Format;

namespace Cryo.Tests.Format;

/// <summary>
/// Assembles checkpoint bytes frame by frame, bypassing the writer's checks, to make the inputs a
/// writer would refuse to produce (unknown critical items, misplaced items, broken sections).
/// Checksums are computed correctly unless a test breaks them on purpose.
/// </summary>
public sealed class RawCheckpoint
{
    private const int TrailerFrameSize = 12 + 12 + 4;
    private readonly MemoryStream _bytes = new();
    private Crc32C _chain = new();
    private ulong _items;

    public RawCheckpoint()
    {
        byte[] minimal = SampleFiles.Build("minimal");
        byte[] header = minimal[..^TrailerFrameSize];
        _bytes.Write(header);
        _chain.Append(header.AsSpan(header.Length - 4));
    }

    public RawCheckpoint Frame(string tag, ItemFlags flags, byte[] payload)
    {
        var frame = new byte[12 + payload.Length + 4];
        Encoding.ASCII.GetBytes(tag).CopyTo(frame, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(8), (uint)payload.Length);
        payload.CopyTo(frame, 12);
        uint crc = Crc32C.Compute(frame.AsSpan(0, 12 + payload.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(12 + payload.Length), crc);
        _bytes.Write(frame);
        _chain.Append(frame.AsSpan(frame.Length - 4));
        _items++;
        return this;
    }

    public RawCheckpoint Item(CheckpointItem item)
    {
        var w = new PayloadWriter();
        item.Encode(w);
        return Frame(item.Tag.ToString(), item.IsCritical ? ItemFlags.Critical : ItemFlags.None, w.Written.ToArray());
    }

    public RawCheckpoint Begin(string tag, bool critical = true) =>
        Frame(tag, ItemFlags.SectionBegin | (critical ? ItemFlags.Critical : ItemFlags.None), []);

    public RawCheckpoint End(string tag, bool critical = true) =>
        Frame(tag, ItemFlags.SectionEnd | (critical ? ItemFlags.Critical : ItemFlags.None), []);

    public byte[] Complete(ulong? itemCount = null)
    {
        var payload = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, itemCount ?? _items);
        BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(8), _chain.Current);
        var trailer = new byte[12 + 12 + 4];
        Encoding.ASCII.GetBytes("TRLR").CopyTo(trailer, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(4), (uint)ItemFlags.Critical);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(8), 12);
        payload.CopyTo(trailer, 12);
        BinaryPrimitives.WriteUInt32LittleEndian(trailer.AsSpan(24), Crc32C.Compute(trailer.AsSpan(0, 24)));
        _bytes.Write(trailer);
        return _bytes.ToArray();
    }

    /// <summary>Reads every item; returns them, or throws what the reader throws.</summary>
    public static List<CheckpointItem> ReadAll(byte[] file, bool returnUnknown = false)
    {
        using var reader = new CheckpointReader(new MemoryStream(file), returnUnknownItems: returnUnknown);
        var items = new List<CheckpointItem>();
        while (reader.GetNextItem() is { } item) items.Add(Detach(item));
        return items;
    }

    /// <summary>Page, memfd, socket, pipe and unknown items' data live in the reader's buffer until the next item: copy them out.</summary>
    public static CheckpointItem Detach(CheckpointItem item) => item switch
    {
        PageData p => p with { Data = p.Data.ToArray() },
        MemfdData m => m with { Data = m.Data.ToArray() },
        UnixSocketData u => u with { Data = u.Data.ToArray() },
        PipeData p => p with { Data = p.Data.ToArray() },
        UnknownItem u => u with { Payload = u.Payload.ToArray() },
        _ => item,
    };
}
