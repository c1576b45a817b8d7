using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>Mappings in cryo's own address space (the image at checkpoint, the probes' memory), and the file system type of an open file.</summary>
internal static unsafe partial class Native
{
    public const int PROT_NONE = 0, PROT_READ = 1, PROT_WRITE = 2;
    public const int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20;

    /// <summary>Faults pages in writable, as writes would, but reports a failure as an error instead of SIGBUS (5.14+).</summary>
    public const int MADV_POPULATE_WRITE = 23;

    /// <summary>statfs f_type of tmpfs (and of shmem: /dev/shm, memfd).</summary>
    public const long TMPFS_MAGIC = 0x01021994;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint address, nuint length);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    public static partial int Mprotect(nint address, nuint length, int protection);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(nint address, nuint length, int advice);

    // x86-64 struct statfs is 120 bytes; f_type is its first field (a long).
    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int FstatfsRaw(int fd, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statfs", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int StatfsRaw(string path, byte* buffer);

    /// <summary>statfs f_type of the POSIX message queue file system (mq_open's queues).</summary>
    public const long MQUEUE_MAGIC = 0x19800202;

    /// <summary>statfs f_type of procfs: its inodes are made afresh and its files claim size 0.</summary>
    public const long PROC_SUPER_MAGIC = 0x9fa0;

    /// <summary>The type of the file system holding the file <paramref name="path"/> leads to (statfs f_type, following links), or -1 with errno set.</summary>
    public static long FileSystemType(string path)
    {
        byte* buffer = stackalloc byte[120];
        return StatfsRaw(path, buffer) == 0 ? *(long*)buffer : -1;
    }

    /// <summary>The type of the file system holding <paramref name="fd"/> (statfs f_type), or -1 with errno set.</summary>
    public static long FileSystemType(int fd)
    {
        byte* buffer = stackalloc byte[120];
        return FstatfsRaw(fd, buffer) == 0 ? *(long*)buffer : -1;
    }
}
