using System.Diagnostics;

namespace Cryo.Tests.Golden.Support;

public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> until it holds or the timeout passes, then fails with what is known.</summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what, Func<string> describe)
    {
        var clock = Stopwatch.StartNew();
        var pause = TimeSpan.FromMilliseconds(1);
        while (!condition())
        {
            if (clock.Elapsed > timeout)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}. {describe()}");
            Thread.Sleep(pause);
            if (pause < TimeSpan.FromMilliseconds(20)) pause *= 2;
        }
    }
}
