using System.Buffers.Binary;

namespace Cryo.Format;

/// <summary>
/// Pulls items from a checkpoint stream one at a time, without seeking (a pipe or stdin will do).
/// Every frame is checked (tag, flags, length, checksum, placement) before it is decoded, and
/// every fault raises <see cref="CheckpointFormatException"/> naming offset, item and reason. Unknown
/// optional items and sections are skipped; unknown critical ones are rejected. The trailer's item
/// count, chain checksum and the end of the stream are checked when <see cref="GetNextItem"/>
/// returns null. Memory is only allocated for bytes that have actually arrived.
/// </summary>
public sealed class CheckpointReader : IDisposable
{
    private const int InitialBuffer = 64 << 10;
    private const long ParallelChecksumsAbove = 4 << 20;

    private readonly Stream? _stream;
    private readonly MappedImage? _image;
    private HashSet<long>? _checkedFrames;
    private readonly bool _leaveOpen, _returnUnknownItems;
    private readonly Stack<(ItemTag Tag, bool Skipping)> _sections = new();
    private readonly byte[] _frame = new byte[FormatLimits.ItemFrameHeaderSize];
    private byte[] _buffer = new byte[InitialBuffer];
    private Crc32C _chain = new();
    private Crc32C _chainAfterHeader;
    private long _offset, _firstItemOffset;
    private ulong _itemIndex;
    private int _skippingDepth;

    public CheckpointReader(Stream stream, bool leaveOpen = false, bool returnUnknownItems = false)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        _returnUnknownItems = returnUnknownItems;
        Header = ReadHeader();
    }

    private CheckpointReader(MappedImage image, bool returnUnknownItems)
    {
        _image = image;
        _returnUnknownItems = returnUnknownItems;
        try
        {
            Header = ReadHeader();
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    public static CheckpointReader OpenFile(string path, bool returnUnknownItems = false) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), false, returnUnknownItems);

    /// <summary>
    /// Opens a file through a read-only memory mapping where it can be mapped (else as
    /// <see cref="OpenFile"/> does): payloads are slices of the mapping, never copied, and stay
    /// valid until the reader is disposed, so items may be kept and used on another thread; and
    /// <see cref="VerifyToEnd"/> checks the item checksums on every core. The file must not be
    /// truncated while it is mapped (reading a page past the new end raises SIGBUS).
    /// </summary>
    public static CheckpointReader OpenMapped(string path, bool returnUnknownItems = false) =>
        MappedImage.TryOpen(path) is { } image ? new CheckpointReader(image, returnUnknownItems) : OpenFile(path, returnUnknownItems);

    /// <summary>True when payloads are slices of a mapping that outlive the next item (<see cref="OpenMapped"/>).</summary>
    public bool PayloadsPersist => _image is not null;

    public CheckpointHeader Header { get; }

    /// <summary>Set once the trailer has been read and checked.</summary>
    public Trailer? Trailer { get; private set; }

    /// <summary>Offset of the frame of the item last returned.</summary>
    public long ItemOffset { get; private set; }

    /// <summary>0-based index of the item last returned, counting every item in the file.</summary>
    public ulong ItemIndex { get; private set; }

    /// <summary>Frame flags and payload length of the item last returned.</summary>
    public ItemFlags ItemFlags { get; private set; }
    public int ItemPayloadLength { get; private set; }

    /// <summary>The open sections, innermost first.</summary>
    public IEnumerable<ItemTag> OpenSections => _sections.Select(s => s.Tag);

    public long BytesRead => _offset;

    private CheckpointHeader ReadHeader()
    {
        const string where = "header";
        var head = new byte[CheckpointHeader.FixedSize + 2 * (2 + FormatLimits.MaxBytesString)];
        int got = ReadUpTo(head, 0, CheckpointHeader.FixedSize);
        int magicSeen = Math.Min(got, FormatLimits.Magic.Length);
        if (!head.AsSpan(0, magicSeen).SequenceEqual(FormatLimits.Magic[..magicSeen]))
            throw new CheckpointFormatException(0, where, "not a cryo checkpoint file (bad magic)");
        if (got >= 12)
        {
            ushort major = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(8));
            ushort minor = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(10));
            if (major != FormatLimits.VersionMajor)
                throw new CheckpointFormatException(8, where, $"format version {major}.{minor} is not supported; this reader reads version {FormatLimits.VersionMajor}.x");
        }
        if (got < CheckpointHeader.FixedSize)
            throw new CheckpointFormatException(got, where, $"the file ends inside the header ({got} of {CheckpointHeader.FixedSize} fixed bytes)");
        int length = CheckpointHeader.FixedSize;
        foreach (string field in new[] { "kernel_release", "creator" })
        {
            ReadExactly(head.AsSpan(length, 2), where);
            int textLength = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(length));
            if (textLength > FormatLimits.MaxBytesString)
                throw new CheckpointFormatException(length, where, $"field '{field}' is {textLength} bytes long, over the limit of {FormatLimits.MaxBytesString}");
            length += 2;
            ReadExactly(head.AsSpan(length, textLength), where);
            length += textLength;
        }
        Span<byte> crcBytes = stackalloc byte[4];
        ReadExactly(crcBytes, where);
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(crcBytes);
        uint computed = Crc32C.Compute(head.AsSpan(0, length));
        if (stored != computed)
            throw new CheckpointFormatException(length, where, $"header checksum mismatch: stored 0x{stored:x8}, computed 0x{computed:x8}");
        _chain.Append(crcBytes);
        _chainAfterHeader = _chain;
        _firstItemOffset = _offset;
        var reader = new PayloadReader(head.AsSpan(0, length), 0, where);
        var header = CheckpointHeader.Decode(ref reader);
        reader.End();
        return header;
    }

    /// <summary>The next item, or null after the trailer has been read and verified.</summary>
    public CheckpointItem? GetNextItem()
    {
        while (Trailer is null)
        {
            long frameOffset = _offset;
            string name = $"item #{_itemIndex}";
            int got = ReadUpTo(_frame, 0, _frame.Length);
            if (got == 0)
                throw new CheckpointFormatException(frameOffset, name, $"the file ends without a trailer after {_itemIndex} items (truncated)");
            if (got < _frame.Length)
                throw new CheckpointFormatException(frameOffset, name, $"the file ends inside an item frame ({got} of {_frame.Length} bytes)");
            var tag = ItemTag.FromBytes(_frame);
            var flags = (ItemFlags)BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(4));
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(_frame.AsSpan(8));
            name = $"item #{_itemIndex} '{tag}'";
            if (!tag.IsPrintable) throw new CheckpointFormatException(frameOffset, name, "the tag is not four printable ASCII characters");
            if ((flags & ~ItemFlagsExtensions.Defined) != 0)
                throw new CheckpointFormatException(frameOffset + 4, name, $"undefined flag bits 0x{(uint)(flags & ~ItemFlagsExtensions.Defined):x} are set");
            bool begins = flags.HasFlag(ItemFlags.SectionBegin), ends = flags.HasFlag(ItemFlags.SectionEnd);
            if (begins && ends) throw new CheckpointFormatException(frameOffset + 4, name, "an item cannot both begin and end a section");
            if (length > FormatLimits.MaxPayload)
                throw new CheckpointFormatException(frameOffset + 8, name, $"payload length {length} exceeds the limit of {FormatLimits.MaxPayload}");
            if ((begins || ends) && length != 0)
                throw new CheckpointFormatException(frameOffset + 8, name, $"a section frame has an empty payload, not {length} bytes");

            long payloadOffset = _offset;
            var payload = ReadPayload((int)length, name, frameOffset);
            Span<byte> crcBytes = stackalloc byte[4];
            ReadExactly(crcBytes, name);
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(crcBytes), computed = stored;
            if (_checkedFrames?.Contains(frameOffset) != true)
            {
                var crc = new Crc32C();
                crc.Append(_frame);
                crc.Append(payload.Span);
                computed = crc.Current;
                if (stored == computed && _image is not null) (_checkedFrames ??= []).Add(frameOffset); // not again after a Rewind
            }
            if (stored != computed)
                throw new CheckpointFormatException(frameOffset, name, $"checksum mismatch: stored 0x{stored:x8}, computed 0x{computed:x8}");

            ItemOffset = frameOffset;
            ItemFlags = flags;
            ItemPayloadLength = (int)length;
            if (tag == Trailer.TagValue && !begins && !ends)
            {
                FinishWithTrailer(payload, payloadOffset, name);
                return null;
            }
            _chain.Append(crcBytes);
            ItemIndex = _itemIndex++;

            var kind = ItemKinds.Find(tag);
            if (begins)
            {
                if (_sections.Count == FormatLimits.MaxSectionDepth)
                    throw new CheckpointFormatException(frameOffset, name, $"sections nest more than {FormatLimits.MaxSectionDepth} deep");
                bool skip = _skippingDepth > 0 || kind is null;
                if (_skippingDepth == 0 && kind is null && flags.HasFlag(ItemFlags.Critical))
                    throw new CheckpointFormatException(frameOffset, name, $"unknown critical section '{tag}'");
                if (_skippingDepth == 0 && kind is not null)
                {
                    if (!kind.IsSection) throw new CheckpointFormatException(frameOffset, name, $"'{tag}' ({kind.Name}) is not a section");
                    CheckPlacement(kind, frameOffset, name);
                }
                _sections.Push((tag, skip));
                if (skip) { _skippingDepth++; continue; }
                return new SectionBegin(tag);
            }
            if (ends)
            {
                if (_sections.Count == 0 || _sections.Peek().Tag != tag)
                    throw new CheckpointFormatException(frameOffset, name,
                        $"END {tag} does not close the open section ({(_sections.Count == 0 ? "none is open" : $"'{_sections.Peek().Tag}' is")})");
                if (_sections.Pop().Skipping) { _skippingDepth--; continue; }
                return new SectionEnd(tag);
            }
            if (_skippingDepth > 0) continue;
            if (kind is null)
            {
                if (flags.HasFlag(ItemFlags.Critical))
                    throw new CheckpointFormatException(frameOffset, name, $"unknown critical item '{tag}'");
                if (_returnUnknownItems) return new UnknownItem(tag, payload);
                continue;
            }
            if (kind.IsSection || kind.Decode is null)
                throw new CheckpointFormatException(frameOffset, name, $"'{tag}' ({kind.Name}) cannot stand here as a plain item");
            CheckPlacement(kind, frameOffset, name);
            var reader = new PayloadReader(payload.Span, payloadOffset, name);
            var item = kind.Decode(ref reader, payload);
            reader.End();
            if (item is PageData page && page.Data.Length % Header.PageSize != 0)
                throw new CheckpointFormatException(payloadOffset, name, $"page data of {page.Data.Length} bytes is not a whole number of {Header.PageSize}-byte pages");
            return item;
        }
        return null;
    }

    private void FinishWithTrailer(ReadOnlyMemory<byte> payload, long payloadOffset, string name)
    {
        var reader = new PayloadReader(payload.Span, payloadOffset, name);
        var trailer = Trailer.Decode(ref reader);
        reader.End();
        if (_sections.Count != 0)
            throw new CheckpointFormatException(payloadOffset, name, $"the trailer comes while section '{_sections.Peek().Tag}' is open");
        if (trailer.ItemCount != _itemIndex)
            throw new CheckpointFormatException(payloadOffset, name, $"the trailer counts {trailer.ItemCount} items but {_itemIndex} were read");
        if (trailer.ChainChecksum != _chain.Current)
            throw new CheckpointFormatException(payloadOffset + 8, name,
                $"chain checksum mismatch: stored 0x{trailer.ChainChecksum:x8}, computed 0x{_chain.Current:x8} (items dropped, repeated or reordered)");
        Span<byte> one = stackalloc byte[1];
        if (_image is not null ? _offset < _image.Length : _stream!.Read(one) != 0)
            throw new CheckpointFormatException(_offset, name, "bytes follow the trailer");
        Trailer = trailer;
    }

    private void CheckPlacement(ItemKind kind, long offset, string name)
    {
        var where = _sections.Count == 0 ? ItemKind.TopLevel : _sections.Peek().Tag;
        if (!kind.AllowedIn.Contains(where))
            throw new CheckpointFormatException(offset, name,
                $"'{kind.Tag}' ({kind.Name}) may not stand {(_sections.Count == 0 ? "outside a section" : $"in section '{where}'")}");
    }

    /// <summary>
    /// Reads a payload into the reusable buffer. The buffer grows only as bytes arrive (at most
    /// doubling what is already there), so a forged length cannot make the reader allocate memory
    /// the input does not back.
    /// </summary>
    private ReadOnlyMemory<byte> ReadPayload(int length, string name, long frameOffset)
    {
        if (_image is not null)
        {
            long available = _image.Length - _offset;
            if (available < length)
            {
                _offset = _image.Length;
                throw new CheckpointFormatException(_offset, name,
                    $"the file ends inside the payload ({available} of {length} bytes; item frame at byte {frameOffset})");
            }
            var slice = _image.Memory(_offset, length);
            _offset += length;
            return slice;
        }
        int got = 0;
        while (got < length)
        {
            if (got == _buffer.Length)
            {
                var bigger = new byte[Math.Min(length, Math.Max(InitialBuffer, _buffer.Length * 2))];
                _buffer.AsSpan(0, got).CopyTo(bigger);
                _buffer = bigger;
            }
            int n = _stream!.Read(_buffer, got, Math.Min(length, _buffer.Length) - got);
            if (n == 0)
                throw new CheckpointFormatException(_offset, name,
                    $"the file ends inside the payload ({got} of {length} bytes; item frame at byte {frameOffset})");
            got += n;
            _offset += n;
        }
        return _buffer.AsMemory(0, length);
    }

    private int ReadUpTo(byte[] buffer, int start, int count)
    {
        if (_image is not null)
        {
            int available = (int)Math.Min(count, _image.Length - _offset);
            _image.Span(_offset, available).CopyTo(buffer.AsSpan(start));
            _offset += available;
            return available;
        }
        int got = 0;
        while (got < count)
        {
            int n = _stream!.Read(buffer, start + got, count - got);
            if (n == 0) break;
            got += n;
        }
        _offset += got;
        return got;
    }

    private void ReadExactly(Span<byte> target, string name)
    {
        if (_image is not null)
        {
            int available = (int)Math.Min(target.Length, _image.Length - _offset);
            _image.Span(_offset, available).CopyTo(target);
            _offset += available;
            if (available < target.Length)
                throw new CheckpointFormatException(_offset, name, $"the file ends early ({available} of {target.Length} bytes of a field)");
            return;
        }
        int got = 0;
        while (got < target.Length)
        {
            int n = _stream!.Read(target[got..]);
            if (n == 0)
                throw new CheckpointFormatException(_offset, name, $"the file ends early ({got} of {target.Length} bytes of a field)");
            got += n;
            _offset += n;
        }
    }

    /// <summary>
    /// Starts again at the first item, for a second pass over a mapped file (e.g. verify it whole,
    /// then apply it). Every check runs again except the checksums of the frames already found
    /// good: the mapping is of the same file, and hashing gigabytes of pages twice would be the
    /// larger part of such a pass. Whether the file was written to meanwhile is for
    /// <see cref="CheckUnchanged"/> to say.
    /// </summary>
    public void Rewind()
    {
        if (_image is null) throw new InvalidOperationException("only a mapped reader (OpenMapped of a regular file) can be read again");
        _offset = _firstItemOffset;
        _chain = _chainAfterHeader;
        _sections.Clear();
        _itemIndex = 0;
        _skippingDepth = 0;
        Trailer = null;
        ItemIndex = 0;
        ItemOffset = 0;
    }

    /// <summary>
    /// Throws when the mapped file's length or modification time is no longer what it was when
    /// it was opened: a cheap guard for a second pass that trusts the first pass's checksums
    /// (<see cref="Rewind"/>). A stream reader has nothing to check.
    /// </summary>
    public void CheckUnchanged() => _image?.CheckUnchanged();

    /// <summary>Reads every remaining item, which checks every checksum and the trailer.</summary>
    public ulong VerifyToEnd()
    {
        // Small files are checked faster on one core than the thread pool starts.
        if (_image is not null && _image.Length - _offset >= ParallelChecksumsAbove) CheckFrameChecksumsInParallel();
        ulong count = 0;
        while (GetNextItem() is not null) count++;
        return count;
    }

    /// <summary>
    /// For a mapped file: walks the frames ahead of the current item and checks their checksums on
    /// all cores, remembering the frames that passed; the sequential pass then skips their
    /// checksums and still checks everything else, and reports every fault (a bad checksum
    /// included) in file order with its usual message. The walk stops at the first frame that
    /// does not fit in the file: the sequential pass reports it.
    /// </summary>
    private void CheckFrameChecksumsInParallel()
    {
        var frames = new List<(long Offset, int Length)>();
        long offset = _offset, end = _image!.Length;
        const int overhead = FormatLimits.ItemFrameHeaderSize + FormatLimits.ItemCrcSize;
        while (end - offset >= overhead)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(_image.Span(offset + 8, 4));
            if (length > FormatLimits.MaxPayload || end - offset - overhead < length) break;
            frames.Add((offset, (int)length));
            offset += overhead + length;
        }
        var passed = new bool[frames.Count];
        Parallel.For(0, frames.Count, i =>
        {
            var (start, length) = frames[i];
            uint computed = Crc32C.Compute(_image.Span(start, FormatLimits.ItemFrameHeaderSize + length));
            passed[i] = computed == BinaryPrimitives.ReadUInt32LittleEndian(_image.Span(start + FormatLimits.ItemFrameHeaderSize + length, 4));
        });
        _checkedFrames = [];
        for (int i = 0; i < frames.Count; i++)
            if (passed[i]) _checkedFrames.Add(frames[i].Offset);
    }

    public void Dispose()
    {
        if (_image is not null) _image.Dispose();
        else if (!_leaveOpen) _stream!.Dispose();
    }
}
