using Cryo.Interop;

namespace Cryo.Tests.Engine.Support;

/// <summary>Reaping of the processes the tests start (they are our children): one copy for every helper.</summary>
internal static class Reaping
{
    /// <summary>Reaps <paramref name="pid"/> if it has ended (a stop is not an end); its exit code, or 128 + signal.</summary>
    public static bool TryReap(int pid, ref bool reaped, out int exitCode)
    {
        exitCode = -1;
        if (reaped) return true;
        int result = Native.WaitPid(pid, out int status, Native.WNOHANG | Native.WALL);
        if (result != pid) return false;
        var decoded = new WaitStatus(pid, status);
        if (!decoded.Gone) return false; // a stop, not an exit
        exitCode = decoded.Exited ? decoded.ExitCode : 128 + decoded.TermSignal;
        reaped = true;
        return true;
    }
}
