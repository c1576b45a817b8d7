using System.Runtime.InteropServices;
using Cryo.Interop;

namespace Cryo.Tracing;

/// <summary>An address range in a tracee.</summary>
internal readonly record struct RemoteRange(ulong Address, ulong Length);

/// <summary>
/// Reads a tracee's memory with process_vm_readv (batched iovecs, no ptrace stop needed) and
/// writes it through /proc/PID/mem, which, unlike process_vm_writev, also writes read-only
/// mappings (it uses FOLL_FORCE like a debugger). Usable from any thread. Owns the mem fd.
/// </summary>
internal sealed class RemoteMemory : IDisposable
{
    // Remote iovecs per process_vm_readv call; the kernel's cap is 1024 (UIO_MAXIOV).
    private const int BatchSize = 512;

    private readonly string memPath;
    private int memFd = -1;

    public RemoteMemory(int pid)
    {
        Pid = pid;
        memPath = $"/proc/{pid}/mem";
    }

    public int Pid { get; }

    /// <summary>Reads as much of [address, address + destination.Length) as is readable; returns the byte count.</summary>
    public unsafe int ReadPartial(ulong address, Span<byte> destination)
    {
        fixed (byte* buffer = destination)
        {
            var local = new IoVec((ulong)buffer, (ulong)destination.Length);
            var remote = new IoVec(address, (ulong)destination.Length);
            nint read = Native.ProcessVmReadv(Pid, &local, 1, &remote, 1, 0);
            if (read < 0)
                throw new SysCallException("process_vm_readv", Marshal.GetLastPInvokeError(), $"pid {Pid} at {address:x} (+{destination.Length})");
            return (int)read;
        }
    }

    /// <summary>Reads exactly destination.Length bytes at <paramref name="address"/> or throws.</summary>
    public void Read(ulong address, Span<byte> destination)
    {
        int read = ReadPartial(address, destination);
        if (read != destination.Length)
            throw new RemoteMemoryException(Pid, address, (ulong)destination.Length, $"only {read} bytes readable");
    }

    public unsafe T Read<T>(ulong address) where T : unmanaged
    {
        T value;
        Read(address, new Span<byte>(&value, sizeof(T)));
        return value;
    }

    /// <summary>
    /// Reads every range into <paramref name="destination"/>, packed one after another, with as
    /// few syscalls as the iovec limit allows. Throws naming the first range that is not readable.
    /// </summary>
    public unsafe void ReadBatch(ReadOnlySpan<RemoteRange> ranges, Span<byte> destination)
    {
        ulong total = 0;
        foreach (var range in ranges) total += range.Length;
        if (total > (ulong)destination.Length)
            throw new ArgumentException($"ranges of pid {Pid} total {total} bytes, destination holds {destination.Length}");

        IoVec* remote = stackalloc IoVec[BatchSize];
        fixed (byte* buffer = destination)
        {
            ulong offset = 0;
            for (int first = 0; first < ranges.Length; first += BatchSize)
            {
                int count = Math.Min(BatchSize, ranges.Length - first);
                ulong batchBytes = 0;
                for (int i = 0; i < count; i++)
                {
                    remote[i] = new IoVec(ranges[first + i].Address, ranges[first + i].Length);
                    batchBytes += ranges[first + i].Length;
                }
                var local = new IoVec((ulong)(buffer + offset), batchBytes);
                nint read = Native.ProcessVmReadv(Pid, &local, 1, remote, (nuint)count, 0);
                if (read < 0)
                    throw new SysCallException("process_vm_readv", Marshal.GetLastPInvokeError(),
                        $"pid {Pid}, {count} ranges from {ranges[first].Address:x}");
                if ((ulong)read != batchBytes)
                    throw ShortBatch(ranges.Slice(first, count), (ulong)read);
                offset += batchBytes;
            }
        }
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="address"/> through /proc/PID/mem.</summary>
    public unsafe void Write(ulong address, ReadOnlySpan<byte> source)
    {
        int fd = MemFd();
        fixed (byte* buffer = source)
        {
            int done = 0;
            while (done < source.Length)
            {
                nint written = Native.Pwrite(fd, buffer + done, (nuint)(source.Length - done), (long)address + done);
                if (written < 0)
                    throw new SysCallException("pwrite", Marshal.GetLastPInvokeError(), $"fd {fd} ({memPath}) at {address + (ulong)done:x} (+{source.Length - done})");
                if (written == 0)
                    throw new RemoteMemoryException(Pid, address + (ulong)done, (ulong)(source.Length - done), "pwrite to /proc/PID/mem wrote nothing");
                done += (int)written;
            }
        }
    }

    public unsafe void Write<T>(ulong address, T value) where T : unmanaged =>
        Write(address, new ReadOnlySpan<byte>(&value, sizeof(T)));

    public void Dispose()
    {
        if (memFd >= 0) Native.Close(memFd);
        memFd = -1;
    }

    // Opened on first write: most users only read.
    private int MemFd()
    {
        if (memFd < 0) memFd = Native.OpenOrThrow(memPath, Native.O_RDWR | Native.O_CLOEXEC);
        return memFd;
    }

    private RemoteMemoryException ShortBatch(ReadOnlySpan<RemoteRange> batch, ulong read)
    {
        foreach (var range in batch)
        {
            if (read < range.Length)
                return new RemoteMemoryException(Pid, range.Address + read, range.Length - read, "not readable (unmapped or no access)");
            read -= range.Length;
        }
        return new RemoteMemoryException(Pid, batch[0].Address, 0, "short read");
    }
}

/// <summary>Part of a tracee's address space could not be read or written.</summary>
internal sealed class RemoteMemoryException(int pid, ulong address, ulong length, string reason)
    : Exception($"memory of pid {pid} at {address:x} (+{length}): {reason}")
{
    public int Pid { get; } = pid;
    public ulong Address { get; } = address;
}
