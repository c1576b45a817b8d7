using System.Runtime.InteropServices;

namespace Cryo.Interop;

internal static partial class Native
{
    public const int PR_SET_NAME = 15, PR_GET_NAME = 16, PR_SET_MM = 35, PR_SET_CHILD_SUBREAPER = 36,
        PR_SET_MM_MAP = 14, PR_SET_MM_MAP_SIZE = 15;

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    private const int PR_GET_CHILD_SUBREAPER = 37;

    /// <summary>Whether this process is a child subreaper (0 or 1).</summary>
    public static unsafe int GetChildSubreaper()
    {
        int value = 0;
        return Prctl(PR_GET_CHILD_SUBREAPER, (ulong)(nint)(&value), 0, 0, 0) == 0 ? value : 0;
    }

    public static void SetChildSubreaper(int value) => Prctl(PR_SET_CHILD_SUBREAPER, (ulong)value, 0, 0, 0);
}
