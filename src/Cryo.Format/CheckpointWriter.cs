using System.Buffers.Binary;

namespace Cryo.Format;

/// <summary>
/// Writes a checkpoint as a stream of items, without seeking, so the target may be a pipe. Use
/// <see cref="CreateFile"/> for a path: it writes a 0600 temporary file beside the target and only
/// fsyncs and renames it into place in <see cref="Complete"/>; disposing an incomplete writer removes it.
/// </summary>
public sealed class CheckpointWriter : IDisposable
{
    private readonly Stream _inner;
    private readonly FileStream? _file; // the temporary file of CreateFile, fsynced before the rename
    private readonly BufferedStream _out;
    private readonly bool _leaveOpen;
    private readonly string? _tempPath, _finalPath;
    private readonly uint _pageSize;
    private readonly PayloadWriter _payload = new();
    private readonly byte[] _frame = new byte[FormatLimits.ItemFrameHeaderSize + 8];
    private readonly Stack<ItemTag> _sections = new();
    private Crc32C _chain = new();
    private bool _completed, _disposed;

    public CheckpointWriter(Stream stream, CheckpointHeader header, bool leaveOpen = false)
        : this(stream, null, header, leaveOpen, null, null) { }

    private CheckpointWriter(Stream stream, FileStream? file, CheckpointHeader header, bool leaveOpen, string? tempPath, string? finalPath)
    {
        _inner = stream;
        _file = file;
        _out = new BufferedStream(stream, 1 << 16);
        _leaveOpen = leaveOpen;
        _tempPath = tempPath;
        _finalPath = finalPath;
        _pageSize = header.PageSize;
        byte[] headerBytes = header.Encode();
        uint crc = Crc32C.Compute(headerBytes);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crcBytes, crc);
        _out.Write(headerBytes);
        _out.Write(crcBytes);
        _chain.Append(crcBytes);
        BytesWritten = headerBytes.Length + 4;
    }

    /// <param name="path">where the checkpoint appears once complete.</param>
    /// <param name="header">the file header.</param>
    /// <param name="wrap">optionally wraps the file stream (e.g. to check for cancellation on every write).</param>
    public static CheckpointWriter CreateFile(string path, CheckpointHeader header, Func<Stream, Stream>? wrap = null)
    {
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        // Read and write, so that the file can be mapped too (the engine touches reserved pages through a mapping).
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 };
        // A checkpoint holds a process's whole memory: only its owner may read it.
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var stream = new FileStream(temp, options);
        try { return new CheckpointWriter(wrap?.Invoke(stream) ?? stream, stream, header, false, temp, full); }
        catch { stream.Dispose(); File.Delete(temp); throw; }
    }

    public long BytesWritten { get; private set; }

    /// <summary>
    /// The temporary file of <see cref="CreateFile"/> (null for a stream), e.g. to reserve its
    /// space ahead of time. Space reserved beyond what is written is given back by <see cref="Complete"/>.
    /// </summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle? FileHandle => _file?.SafeFileHandle;
    public ulong ItemCount { get; private set; }

    /// <summary>Bytes of page data written so far (PAGE payloads without their address).</summary>
    public long PageBytesWritten { get; private set; }

    public void BeginSection(ItemTag section)
    {
        CheckPlacement(section, expectSection: true);
        if (_sections.Count == FormatLimits.MaxSectionDepth) throw new InvalidOperationException($"sections nest at most {FormatLimits.MaxSectionDepth} deep");
        WriteFrame(section, ItemFlags.Critical | ItemFlags.SectionBegin, [], []);
        _sections.Push(section);
    }

    public void EndSection(ItemTag section)
    {
        if (_sections.Count == 0 || _sections.Peek() != section)
            throw new InvalidOperationException($"END {section} does not close the open section {(_sections.Count == 0 ? "(none)" : _sections.Peek().ToString())}");
        WriteFrame(section, ItemFlags.Critical | ItemFlags.SectionEnd, [], []);
        _sections.Pop();
    }

    public void Write(CheckpointItem item)
    {
        if (item is SectionBegin begin) { BeginSection(begin.Section); return; }
        if (item is SectionEnd end) { EndSection(end.Section); return; }
        if (item is Trailer) throw new InvalidOperationException("the trailer is written by Complete()");
        if (item is PageData page) { WritePages(page.Address, page.Data.Span); return; }
        CheckPlacement(item.Tag, expectSection: false);
        _payload.Clear();
        item.Encode(_payload);
        WriteFrame(item.Tag, item.IsCritical ? ItemFlags.Critical : ItemFlags.None, [], _payload.Written);
    }

    /// <summary>
    /// Writes page contents starting at <paramref name="address"/> as one or more PAGE items.
    /// <paramref name="checksums"/>, from <see cref="ChecksumPages"/> over the same bytes, saves
    /// computing them here: a producer thread can checksum pages while this thread writes earlier ones.
    /// </summary>
    public void WritePages(ulong address, ReadOnlySpan<byte> pages, PageChecksums? checksums = null)
    {
        if (pages.Length == 0 || pages.Length % _pageSize != 0)
            throw new ArgumentException($"page data at 0x{address:x} is {pages.Length} bytes, not a positive multiple of the page size {_pageSize}");
        if (checksums is not null && (checksums.Address != address || checksums.Length != pages.Length || checksums.PageSize != _pageSize))
            throw new ArgumentException($"the checksums are of {checksums.Length} bytes at 0x{checksums.Address:x} ({checksums.PageSize}-byte pages), " +
                                        $"not of these {pages.Length} bytes at 0x{address:x} ({_pageSize}-byte pages)");
        CheckPlacement(PageData.TagValue, expectSection: false);
        int chunk = PageChunk(_pageSize), index = 0;
        Span<byte> prefix = stackalloc byte[8];
        while (pages.Length > 0)
        {
            var part = pages[..Math.Min(chunk, pages.Length)];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, address);
            WriteFrame(PageData.TagValue, ItemFlags.Critical, prefix, part, checksum: checksums?.Values[index++]);
            PageBytesWritten += part.Length;
            address += (ulong)part.Length;
            pages = pages[part.Length..];
        }
    }

    /// <summary>
    /// The checksums of the PAGE items that <see cref="WritePages"/> will write for these bytes.
    /// Depends on nothing but its arguments, so it may run on any thread; the bytes must not
    /// change before they are written.
    /// </summary>
    public static PageChecksums ChecksumPages(ulong address, ReadOnlySpan<byte> pages, uint pageSize)
    {
        int chunk = PageChunk(pageSize);
        var values = new uint[(pages.Length + chunk - 1) / chunk];
        Span<byte> head = stackalloc byte[FormatLimits.ItemFrameHeaderSize + 8];
        for (int i = 0, at = 0; at < pages.Length; i++, at += chunk)
        {
            var part = pages.Slice(at, Math.Min(chunk, pages.Length - at));
            BinaryPrimitives.WriteUInt64LittleEndian(head[FormatLimits.ItemFrameHeaderSize..], address + (ulong)at);
            values[i] = FrameChecksum(FrameHead(head, PageData.TagValue, ItemFlags.Critical, 8 + part.Length), part);
        }
        return new PageChecksums(address, pages.Length, pageSize, values);
    }

    private static int PageChunk(uint pageSize) => (int)(FormatLimits.DataChunk / pageSize * pageSize);

    /// <summary>
    /// Writes a pipe's unread bytes as FBUF items. Packetized pipes take one call per packet (a
    /// packet is at most a page, so it is never split); otherwise the bytes are split into chunks.
    /// </summary>
    public void WritePipeData(ulong pipeId, ReadOnlySpan<byte> bytes)
    {
        CheckPlacement(PipeData.TagValue, expectSection: false);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, pipeId);
        // An empty pipe has no FBUF at all (and a pipe never holds an empty packet).
        while (bytes.Length > 0)
        {
            var part = bytes[..Math.Min(FormatLimits.DataChunk, bytes.Length)];
            WriteFrame(PipeData.TagValue, ItemFlags.Critical, prefix, part);
            bytes = bytes[part.Length..];
        }
    }

    /// <summary>Writes an item of a kind this library does not define (extensions, tests of readers).</summary>
    public void WriteOpaqueItem(ItemTag tag, bool critical, ReadOnlySpan<byte> payload)
    {
        if (ItemKinds.Find(tag) is not null) throw new ArgumentException($"'{tag}' is a defined item kind; write it as its record");
        WriteFrame(tag, critical ? ItemFlags.Critical : ItemFlags.None, [], payload);
    }

    /// <summary>Writes the trailer, flushes, and for a file fsyncs and renames it into place.</summary>
    public void Complete()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("the checkpoint is already complete");
        if (_sections.Count != 0) throw new InvalidOperationException($"section {_sections.Peek()} is still open");
        _payload.Clear();
        new Trailer(ItemCount, _chain.Current).Encode(_payload);
        WriteFrame(Trailer.TagValue, ItemFlags.Critical, [], _payload.Written, countsAsItem: false);
        _out.Flush();
        _inner.Flush();
        if (_file is not null && _file.Length > _file.Position) _file.SetLength(_file.Position); // a reservation larger than the image
        _file?.Flush(flushToDisk: true);
        _completed = true;
        if (_tempPath is not null)
        {
            _inner.Dispose();
            File.Move(_tempPath, _finalPath!, overwrite: true);
        }
    }

    private void CheckPlacement(ItemTag tag, bool expectSection)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_completed) throw new InvalidOperationException("the checkpoint is already complete");
        var kind = ItemKinds.Find(tag) ?? throw new ArgumentException($"'{tag}' is not a defined item kind");
        if (kind.IsSection != expectSection)
            throw new InvalidOperationException($"'{tag}' is {(kind.IsSection ? "a section" : "not a section")}");
        var where = _sections.Count == 0 ? ItemKind.TopLevel : _sections.Peek();
        if (!kind.AllowedIn.Contains(where))
            throw new InvalidOperationException($"'{tag}' ({kind.Name}) may not stand {(_sections.Count == 0 ? "outside a section" : $"in section {where}")}");
    }

    /// <summary>Writes one frame; <paramref name="prefix"/> (at most 8 bytes: an address or pipe id) and <paramref name="data"/> form the payload.</summary>
    private void WriteFrame(ItemTag tag, ItemFlags flags, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> data, bool countsAsItem = true, uint? checksum = null)
    {
        int length = prefix.Length + data.Length;
        if (length > FormatLimits.MaxPayload)
            throw new ArgumentException($"item '{tag}' payload of {length} bytes exceeds the limit of {FormatLimits.MaxPayload}");
        prefix.CopyTo(_frame.AsSpan(FormatLimits.ItemFrameHeaderSize));
        var head = FrameHead(_frame.AsSpan(0, FormatLimits.ItemFrameHeaderSize + prefix.Length), tag, flags, length);
        Span<byte> crcBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(crcBytes, checksum ?? FrameChecksum(head, data));
        _out.Write(head);
        _out.Write(data);
        _out.Write(crcBytes);
        BytesWritten += head.Length + data.Length + 4;
        if (countsAsItem)
        {
            _chain.Append(crcBytes);
            ItemCount++;
        }
    }

    /// <summary>Fills in tag, flags and length before the prefix already in <paramref name="head"/>.</summary>
    private static Span<byte> FrameHead(Span<byte> head, ItemTag tag, ItemFlags flags, int length)
    {
        tag.WriteTo(head);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)flags);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], (uint)length);
        return head;
    }

    private static uint FrameChecksum(ReadOnlySpan<byte> head, ReadOnlySpan<byte> data)
    {
        var crc = new Crc32C();
        crc.Append(head);
        crc.Append(data);
        return crc.Current;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (_tempPath is not null)
        {
            if (!_completed)
            {
                _inner.Dispose();
                File.Delete(_tempPath);
            }
            return;
        }
        if (_completed) _out.Flush();
        if (!_leaveOpen) _inner.Dispose();
    }
}

/// <summary>The checksums of PAGE items computed ahead of writing (<see cref="CheckpointWriter.ChecksumPages"/>).</summary>
public sealed class PageChecksums
{
    internal PageChecksums(ulong address, int length, uint pageSize, uint[] values) =>
        (Address, Length, PageSize, Values) = (address, length, pageSize, values);

    internal ulong Address { get; }
    internal int Length { get; }
    internal uint PageSize { get; }
    internal uint[] Values { get; }
}
