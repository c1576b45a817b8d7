using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Cryo.Interop;

/// <summary>System V shared memory, made again by cryo at a restore (the process then attaches it with an injected shmat).</summary>
internal static partial class Native
{
    public const int IPC_CREAT = 0x200, IPC_EXCL = 0x400;
    public const int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, SHM_LOCK = 11;
    public const int SHM_RDONLY = 0x1000, SHM_EXEC = 0x8000;

    // struct shmid_ds on x86-64 (the kernel's shmid64_ds): shm_perm { key, uid, gid, cuid, cgid,
    // mode, seq … } is 48 bytes, then size, times, pids, nattch: 112 bytes in all.
    private const int ShmidDsSize = 112, PermUid = 4, PermGid = 8, PermMode = 20;

    /// <summary>Where the id of the next segment is asked for (CONFIG_CHECKPOINT_RESTORE); -1 when none is.</summary>
    public const string ShmNextIdPath = "/proc/sys/kernel/shm_next_id";

    [LibraryImport("libc", EntryPoint = "shmget", SetLastError = true)]
    private static partial int ShmgetRaw(int key, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "shmctl", SetLastError = true)]
    private static unsafe partial int ShmctlRaw(int id, int command, byte* buffer);

    /// <summary>shmget; the errno (negated) on failure.</summary>
    public static int Shmget(int key, ulong size, int flags)
    {
        int id = ShmgetRaw(key, (nuint)size, flags);
        return id >= 0 ? id : -Marshal.GetLastPInvokeError();
    }

    public static unsafe void ShmRemove(int id, string context)
    {
        if (ShmctlRaw(id, IPC_RMID, null) != 0) throw new SysCallException("shmctl(IPC_RMID)", Marshal.GetLastPInvokeError(), context);
    }

    public static unsafe void ShmLock(int id, string context)
    {
        if (ShmctlRaw(id, SHM_LOCK, null) != 0) throw new SysCallException("shmctl(SHM_LOCK)", Marshal.GetLastPInvokeError(), context);
    }

    /// <summary>Sets the owner and permission bits of a segment (IPC_STAT, then IPC_SET: the other fields are not set by IPC_SET).</summary>
    public static unsafe void ShmSetOwner(int id, uint uid, uint gid, uint permissions, string context)
    {
        byte* ds = stackalloc byte[ShmidDsSize];
        if (ShmctlRaw(id, IPC_STAT, ds) != 0) throw new SysCallException("shmctl(IPC_STAT)", Marshal.GetLastPInvokeError(), context);
        var span = new Span<byte>(ds, ShmidDsSize);
        BinaryPrimitives.WriteUInt32LittleEndian(span[PermUid..], uid);
        BinaryPrimitives.WriteUInt32LittleEndian(span[PermGid..], gid);
        BinaryPrimitives.WriteUInt32LittleEndian(span[PermMode..], permissions);
        if (ShmctlRaw(id, IPC_SET, ds) != 0) throw new SysCallException("shmctl(IPC_SET)", Marshal.GetLastPInvokeError(), context);
    }
}
