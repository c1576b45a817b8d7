using Cryo.Interop;
using Cryo.Restore;
using Xunit;

namespace Cryo.Tests.Engine;

/// <summary>
/// PageCopier on real memory: process_vm_writev into this test process itself, into a mapping
/// whose tail is read-only, so the copy must stop there and say where (restore then writes the
/// rest through /proc/PID/mem).
/// </summary>
public sealed unsafe class PageCopierTests
{
    private const long ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20;

    [Theory]
    [InlineData(4096, 4096)]                  // below the split: one call on the caller's thread
    [InlineData(1 << 20, 1 << 20)]            // shared between the threads in chunks
    [InlineData(3 << 20, (3 << 20) - 40960)]  // a read-only tail: copied up to it, no further
    [InlineData(3 << 20, 200 << 10)]          // read-only from inside the second chunk
    public void Copies_everything_it_can_and_reports_where_it_stopped(int length, int writable)
    {
        long mapped = Native.Syscall(SyscallNumbers.Mmap, 0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        Assert.True(mapped > 0, $"mmap: {mapped}");
        try
        {
            if (writable < length)
                Assert.Equal(0, Native.Syscall(SyscallNumbers.Mprotect, mapped + writable, length - writable, ProtRead));
            var source = new byte[length];
            new Random(length ^ writable).NextBytes(source);
            using var copier = new PageCopier();
            for (int round = 0; round < 3; round++) // the helper thread is reused across jobs
            {
                new Span<byte>((void*)mapped, writable).Clear();
                long copied;
                fixed (byte* from = source) copied = copier.Copy(Environment.ProcessId, -1, from, (ulong)mapped, length);
                Assert.Equal(writable, copied);
                Assert.True(source.AsSpan(0, writable).SequenceEqual(new ReadOnlySpan<byte>((void*)mapped, writable)), $"round {round}: the bytes differ");
            }
        }
        finally
        {
            Native.Syscall(SyscallNumbers.Munmap, mapped, length);
        }
    }

    /// <summary>
    /// The same with UFFDIO_COPY into memory registered with a userfaultfd of this process (as
    /// restore fills large anonymous areas): a page already there stops the copy at it.
    /// </summary>
    [Theory]
    [InlineData(4096, 4096)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData(3 << 20, (3 << 20) - 40960)]
    [InlineData(3 << 20, 200 << 10)]
    public void Fills_registered_memory_up_to_a_page_already_there(int length, int missing)
    {
        long mapped = Native.Syscall(SyscallNumbers.Mmap, 0, length, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        Assert.True(mapped > 0, $"mmap: {mapped}");
        long fd = Native.Syscall(UffdFill.UserfaultfdCall, UffdFill.UserfaultfdFlags);
        Assert.True(fd >= 0, $"userfaultfd: {fd}");
        try
        {
            if (missing < length) *(byte*)(mapped + missing) = 1; // that page is there now
            Assert.True(UffdFill.Handshake((int)fd) is not null && UffdFill.RegisterRange((int)fd, (ulong)mapped, (ulong)length), "UFFDIO_API/REGISTER failed");
            var source = new byte[length];
            new Random(length ^ missing).NextBytes(source);
            using var copier = new PageCopier();
            long copied;
            fixed (byte* from = source) copied = copier.Copy(Environment.ProcessId, (int)fd, from, (ulong)mapped, length);
            Assert.Equal(missing, copied);
            UffdFill.Unregister(Environment.ProcessId, (int)fd, (ulong)mapped, (ulong)length);
            Assert.True(source.AsSpan(0, missing).SequenceEqual(new ReadOnlySpan<byte>((void*)mapped, missing)), "the bytes differ");
        }
        finally
        {
            Native.Close((int)fd);
            Native.Syscall(SyscallNumbers.Munmap, mapped, length);
        }
    }
}
