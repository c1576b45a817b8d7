using System.Runtime.InteropServices;
using Cryo.Cli;
using Cryo.Format;
using Cryo.Interop;

namespace Cryo.Checkpoint;

/// <summary>
/// The page region of the image file mapped shared and writable, so that page readers with no
/// buffer to fill can copy a process's pages straight into the file (process_vm_readv into the
/// mapping) and complete the PAGE frames around them (<see cref="CheckpointWriter.SealPageFrames"/>).
/// The writer thread fills the file from the front with write(), which allocates page cache
/// under the file's inode lock, one page at a time; readers that would otherwise wait for it
/// fill it from the back through the mapping, where page faults allocate in parallel
/// (docs/engine-memory.md). Every part is faulted in with MADV_POPULATE_WRITE before it is
/// written: that reports a full file system as an error, where a plain write into the mapping
/// would kill cryo with SIGBUS.
/// </summary>
internal sealed unsafe class ImageMapping : IDisposable
{
    private readonly nint _base;
    private readonly long _start; // file offset of _base (page-aligned)
    private readonly long _length;
    private bool _disposed;

    private ImageMapping(nint mapped, long start, long length) => (_base, _start, _length) = (mapped, start, length);

    /// <summary>
    /// Maps file offsets [<paramref name="start"/>, <paramref name="end"/>) of the image, growing the
    /// file to <paramref name="end"/> first (what is not written is given back when the writer
    /// completes). Null when the output is a stream, the file cannot be mapped, or the kernel
    /// lacks MADV_POPULATE_WRITE (before 5.14): then every page goes through a buffer and write().
    /// </summary>
    public static ImageMapping? TryMap(CheckpointWriter writer, long start, long end, Log log)
    {
        if (writer.FileHandle is not { } handle || end <= start) return null;
        int fd = (int)handle.DangerousGetHandle();
        long pageSize = Environment.SystemPageSize;
        long alignedStart = start / pageSize * pageSize;
        if (RandomAccess.GetLength(handle) < end && Native.Ftruncate(fd, end) != 0)
        {
            log.Info($"the image file was not grown to {end} bytes to be mapped ({ErrnoNames.Name(Marshal.GetLastPInvokeError())}); pages go through write()");
            return null;
        }
        long length = end - alignedStart;
        nint mapped = Native.Mmap(0, (nuint)length, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_SHARED, fd, alignedStart);
        if (mapped == -1)
        {
            log.Info($"the image file is not mappable ({ErrnoNames.Name(Marshal.GetLastPInvokeError())}); pages go through write()");
            return null;
        }
        var mapping = new ImageMapping(mapped, alignedStart, length);
        // An empty advice range says whether the kernel knows the advice, without touching a page.
        if (Native.Madvise(mapped, 0, Native.MADV_POPULATE_WRITE) != 0)
        {
            mapping.Dispose();
            log.Info($"no MADV_POPULATE_WRITE ({ErrnoNames.Name(Marshal.GetLastPInvokeError())}; 5.14+); pages go through write()");
            return null;
        }
        return mapping;
    }

    /// <summary>
    /// Faults in file offsets [<paramref name="offset"/>, +<paramref name="length"/>) writable, so
    /// that copying into them cannot fault; throws when the file system cannot hold them.
    /// </summary>
    public void Populate(long offset, long length)
    {
        long pageSize = Environment.SystemPageSize;
        long first = (offset - _start) / pageSize * pageSize;
        long last = Math.Min(_length, offset - _start + length);
        if (Native.Madvise(_base + (nint)first, (nuint)(last - first), Native.MADV_POPULATE_WRITE) == 0) return;
        int errno = Marshal.GetLastPInvokeError();
        throw new IOException(errno == ErrnoNames.EFAULT
            ? $"no room for {length} bytes of the image at offset {offset}: the file system is full or the file cannot grow (MADV_POPULATE_WRITE: EFAULT)"
            : $"cannot fault in {length} bytes of the image at offset {offset}: madvise(MADV_POPULATE_WRITE): {ErrnoNames.Name(errno)}");
    }

    /// <summary>The mapped bytes at file offset <paramref name="offset"/>.</summary>
    public Span<byte> Span(long offset, int length)
    {
        if (offset < _start || offset + length > _start + _length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{offset} (+{length}) is outside the mapped image [{_start}, {_start + _length})");
        return new Span<byte>((byte*)_base + (offset - _start), length);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Native.Munmap(_base, (nuint)_length);
    }
}
