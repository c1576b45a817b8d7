using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace Cryo.Format;

/// <summary>
/// A checkpoint file mapped read-only into memory, for <see cref="CheckpointReader.OpenMapped"/>:
/// payloads are handed out as slices of the mapping, without a copy, and stay valid until the
/// reader is disposed (a stream reader's payload is valid only until the next item).
/// </summary>
internal sealed unsafe class MappedImage : IDisposable
{
    private readonly FileStream _stream;
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _base;
    private readonly DateTime _modified;

    private MappedImage(FileStream stream, MemoryMappedFile file, MemoryMappedViewAccessor view, long length)
    {
        _stream = stream;
        _file = file;
        _view = view;
        Length = length;
        _modified = File.GetLastWriteTimeUtc(stream.SafeFileHandle);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        _base = pointer + view.PointerOffset;
    }

    public long Length { get; }

    /// <summary>Maps the file, or returns null when it cannot be mapped (empty, a pipe, a device): then read it as a stream.</summary>
    public static MappedImage? TryOpen(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        try
        {
            if (!stream.CanSeek || stream.Length == 0) return null;
            long length = stream.Length;
            var file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            try
            {
                var image = new MappedImage(stream, file, file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read), length);
                stream = null; // owned by the image now
                return image;
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }
        catch (IOException) when (stream is not null)
        {
            return null; // e.g. a FIFO path: not mappable, readable as a stream
        }
        finally
        {
            stream?.Dispose();
        }
    }

    /// <summary>The bytes at <paramref name="offset"/>; the caller keeps within <see cref="Length"/>.</summary>
    public ReadOnlySpan<byte> Span(long offset, int length) => new(_base + offset, length);

    public ReadOnlyMemory<byte> Memory(long offset, int length) =>
        length == 0 ? ReadOnlyMemory<byte>.Empty : new Slice(_base + offset, length).Memory;

    /// <summary>Throws when the file's length or modification time changed since it was mapped.</summary>
    public void CheckUnchanged()
    {
        long length = RandomAccess.GetLength(_stream.SafeFileHandle);
        DateTime modified = File.GetLastWriteTimeUtc(_stream.SafeFileHandle);
        if (length != Length || modified != _modified)
            throw new IOException($"the checkpoint file changed while it was read: {Length} bytes modified at {_modified:O} when opened, " +
                                  $"now {length} bytes modified at {modified:O}");
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        _stream.Dispose();
    }

    /// <summary>A Memory&lt;byte&gt; over part of the mapping (the mapping is never moved, so pinning is a no-op).</summary>
    private sealed class Slice(byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan() => new(pointer, length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }
    }
}
