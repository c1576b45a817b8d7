using System.Runtime.InteropServices;
using System.Text;

namespace Cryo.Interop;

/// <summary>
/// Starts targets and stubs with posix_spawn: never fork from managed code, never
/// System.Diagnostics.Process. The child gets default dispositions for every signal and an
/// empty mask (else it inherits .NET's ignored SIGPIPE and blocked signals), stdin from
/// /dev/null and stdout+stderr appended to a file, so it needs nothing outside its own tree.
/// </summary>
internal static unsafe partial class PosixSpawn
{
    private const short SetSigDef = 0x04, SetSigMask = 0x08, SetSid = 0x80;

    // glibc x86-64: posix_spawnattr_t is 336 bytes, posix_spawn_file_actions_t 80, sigset_t 128.
    // Over-allocated so a larger future glibc layout cannot overrun them.
    private const int OpaqueSize = 1024;

    /// <summary>Spawns <paramref name="path"/> and returns its pid. The caller must reap it.</summary>
    /// <param name="arguments">argv, including argv[0].</param>
    /// <param name="environment">"NAME=value" entries; null inherits this process's environment.</param>
    /// <param name="outputPath">file that receives stdout and stderr (created, appended to).</param>
    /// <param name="newSession">make the child a session (and group) leader.</param>
    /// <param name="layout">personality flags (ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT) the program is
    /// exec'd with: they decide where its exec puts the mmap base and which way mmap searches.</param>
    public static int Spawn(string path, IReadOnlyList<string> arguments, IReadOnlyList<string>? environment,
        string outputPath, bool newSession, uint layout = 0)
    {
        environment ??= InheritedEnvironment();
        byte* attr = (byte*)NativeMemory.AllocZeroed(OpaqueSize);
        byte* actions = (byte*)NativeMemory.AllocZeroed(OpaqueSize);
        byte* signalSet = (byte*)NativeMemory.AllocZeroed(OpaqueSize);
        byte** argv = AllocStringArray(arguments);
        byte** envp = AllocStringArray(environment);
        bool attrReady = false, actionsReady = false;
        try
        {
            Check(posix_spawnattr_init(attr), "posix_spawnattr_init", path);
            attrReady = true;
            Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init", path);
            actionsReady = true;

            short flags = (short)(SetSigDef | SetSigMask | (newSession ? SetSid : 0));
            Check(posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags", path);
            Native.SigFillSet(signalSet);
            Check(posix_spawnattr_setsigdefault(attr, signalSet), "posix_spawnattr_setsigdefault", path);
            Native.SigEmptySet(signalSet);
            Check(posix_spawnattr_setsigmask(attr, signalSet), "posix_spawnattr_setsigmask", path);

            Check(posix_spawn_file_actions_addopen(actions, 0, "/dev/null", Native.O_RDONLY, 0),
                "posix_spawn_file_actions_addopen", "/dev/null");
            Check(posix_spawn_file_actions_addopen(actions, 1, outputPath,
                    Native.O_WRONLY | Native.O_CREAT | Native.O_APPEND, 0x1a4 /* 0644 */),
                "posix_spawn_file_actions_addopen", outputPath);
            Check(posix_spawn_file_actions_adddup2(actions, 1, 2), "posix_spawn_file_actions_adddup2", outputPath);
            // Nothing but stdin/stdout/stderr: an fd leaked by whoever started cryo (or the test
            // host) must not become part of the target's state.
            Check(posix_spawn_file_actions_addclosefrom_np(actions, 3), "posix_spawn_file_actions_addclosefrom_np", path);

            int pid;
            if (layout == 0)
            {
                Check(posix_spawn(&pid, path, actions, attr, argv, envp), "posix_spawn", path);
                return pid;
            }
            // posix_spawn clones the calling thread, whose personality the child inherits: set it
            // on this thread for the call alone (nothing here can move the call to another thread).
            uint own = Native.Personality(0xffffffff, "cryo itself");
            Native.Personality(own | layout, $"cryo, to spawn {path}");
            try { Check(posix_spawn(&pid, path, actions, attr, argv, envp), "posix_spawn", path); }
            finally { Native.Personality(own, "cryo itself, after a spawn"); }
            return pid;
        }
        finally
        {
            if (actionsReady) posix_spawn_file_actions_destroy(actions);
            if (attrReady) posix_spawnattr_destroy(attr);
            FreeStringArray(argv);
            FreeStringArray(envp);
            NativeMemory.Free(signalSet);
            NativeMemory.Free(actions);
            NativeMemory.Free(attr);
        }
    }

    // posix_spawn* return the error number instead of setting errno.
    private static void Check(int error, string call, string context)
    {
        if (error != 0) throw new SysCallException(call, error, context);
    }

    private static List<string> InheritedEnvironment()
    {
        var entries = new List<string>();
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
            entries.Add($"{entry.Key}={entry.Value}");
        return entries;
    }

    private static byte** AllocStringArray(IReadOnlyList<string> strings)
    {
        var array = (byte**)NativeMemory.AllocZeroed((nuint)(strings.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < strings.Count; i++)
        {
            int length = Encoding.UTF8.GetByteCount(strings[i]);
            var bytes = (byte*)NativeMemory.Alloc((nuint)length + 1);
            Encoding.UTF8.GetBytes(strings[i], new Span<byte>(bytes, length));
            bytes[length] = 0;
            array[i] = bytes;
        }
        return array;
    }

    private static void FreeStringArray(byte** array)
    {
        for (byte** entry = array; *entry != null; entry++) NativeMemory.Free(*entry);
        NativeMemory.Free(array);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn(int* pid, string path, byte* fileActions, byte* attributes, byte** argv, byte** envp);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_init(byte* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_destroy(byte* attributes);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setflags(byte* attributes, short flags);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigdefault(byte* attributes, byte* signalSet);

    [LibraryImport("libc")]
    private static partial int posix_spawnattr_setsigmask(byte* attributes, byte* signalSet);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_init(byte* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_destroy(byte* fileActions);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_addclosefrom_np(byte* fileActions, int from);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int posix_spawn_file_actions_addopen(byte* fileActions, int fd, string path, int flags, int mode);

    [LibraryImport("libc")]
    private static partial int posix_spawn_file_actions_adddup2(byte* fileActions, int fd, int newFd);
}
