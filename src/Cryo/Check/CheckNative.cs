using System.Runtime.InteropServices;
using System.Text;
using Cryo.Interop;

namespace Cryo.Check;

/// <summary>The few local calls only the probes make (anonymous memory, FIONREAD, memfd, kcmp).</summary>
internal static unsafe partial class CheckNative
{
    public const int FIONREAD = 0x541B, O_DIRECT = 0x4000;
    public const long SysKcmp = 312, SysMemfdCreate = 319;

    [LibraryImport("libc", EntryPoint = "readlink", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint ReadlinkRaw(string path, byte* buffer, nuint size);

    /// <summary>Anonymous private read-write memory, or throws.</summary>
    public static nint MapAnonymous(nuint length)
    {
        nint address = Native.Mmap(0, length, Native.PROT_READ | Native.PROT_WRITE, Native.MAP_PRIVATE | Native.MAP_ANONYMOUS, -1, 0);
        if (address == -1) throw new SysCallException("mmap", Marshal.GetLastPInvokeError(), $"{length} bytes of anonymous memory");
        return address;
    }

    public static string Readlink(string path)
    {
        byte* buffer = stackalloc byte[4096];
        nint length = ReadlinkRaw(path, buffer, 4096);
        if (length < 0) throw new SysCallException("readlink", Marshal.GetLastPInvokeError(), path);
        return Encoding.UTF8.GetString(buffer, (int)length);
    }

    /// <summary>A pipe (read end, write end), or throws.</summary>
    public static (int Read, int Write) Pipe(int flags = 0)
    {
        int* fds = stackalloc int[2];
        if (Native.Pipe2(fds, flags) != 0) throw new SysCallException("pipe2", Marshal.GetLastPInvokeError(), $"flags 0x{flags:x}");
        return (fds[0], fds[1]);
    }

    public static void WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* bytes = data)
        {
            nint written = Native.Write(fd, bytes, (nuint)data.Length);
            if (written != data.Length)
                throw new SysCallException("write", written < 0 ? Marshal.GetLastPInvokeError() : 0, $"fd {fd} ({written} of {data.Length} bytes)");
        }
    }

    public static int Fionread(int fd)
    {
        int count;
        if (Native.Ioctl(fd, FIONREAD, &count) != 0) throw new SysCallException("ioctl(FIONREAD)", Marshal.GetLastPInvokeError(), $"fd {fd}");
        return count;
    }

    /// <summary>The raw 64-bit /proc/self/pagemap entry of the page holding <paramref name="address"/>.</summary>
    public static ulong PagemapEntry(int pagemapFd, nint address)
    {
        ulong entry;
        long offset = (long)((ulong)address / (ulong)Environment.SystemPageSize * 8);
        if (Native.Pread(pagemapFd, (byte*)&entry, 8, offset) != 8)
            throw new SysCallException("pread", Marshal.GetLastPInvokeError(), "/proc/self/pagemap");
        return entry;
    }

    /// <summary>The errno name of the last failed P/Invoke, read first (before any text is built).</summary>
    public static string LastError() => ErrnoNames.Name(Marshal.GetLastPInvokeError());
}

/// <summary>Closes an fd on Dispose.</summary>
internal readonly struct FdHolder(int fd) : IDisposable
{
    public int Fd { get; } = fd;
    public void Dispose()
    {
        if (Fd >= 0) Native.Close(Fd);
    }
}

/// <summary>Unmaps local memory on Dispose.</summary>
internal readonly struct MappingHolder(nint address, nuint length) : IDisposable
{
    public nint Address { get; } = address;
    public void Dispose() => Native.Munmap(Address, length);
}
