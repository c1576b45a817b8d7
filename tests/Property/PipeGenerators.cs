using FsCheck;
using FsCheck.Fluent;

namespace Cryo.Tests.Property;

/// <summary>
/// Generators and shrinkers of pipe sets. Every generated spec is valid for pipeset
/// (<see cref="PipeSpec.IsValid"/>), and so is every shrunk one: a failure shrinks towards fewer
/// pipes, then simpler ones (a stream, both ends, anonymous, less data, a smaller capacity, no
/// flags), then the tee strategy.
/// </summary>
public static class PipeGenerators
{
    /// <summary>Capacities 4 KiB .. 1 MiB (a power of two pages, as F_SETPIPE_SZ makes them).</summary>
    private static readonly Gen<int> Capacity = Gen.Frequency(
        (2, Gen.Constant(PipeSpec.Page)),
        (3, Gen.Constant(65536)),
        (5, Gen.Choose(0, 8).Select(shift => PipeSpec.Page << shift)),
        (2, Gen.Constant(1 << 20)));

    private static Gen<int> StreamLength(int capacity) => Gen.Frequency(
        (2, Gen.Constant(0)),
        (1, Gen.Constant(1)),
        (3, Gen.Constant(capacity)),                                        // full
        (1, Gen.Choose(Math.Max(0, capacity - PipeSpec.Page), capacity)),   // nearly full
        (1, Gen.Choose(1, Math.Min(capacity, 3 * PipeSpec.Page))),          // around the first pages
        (4, Gen.Choose(0, capacity)));

    private static readonly Gen<int> PacketSize = Gen.Frequency(
        (1, Gen.Constant(1)),
        (1, Gen.Constant(PipeSpec.Page)),
        (4, Gen.Choose(1, PipeSpec.Page)));

    private static Gen<int[]> Packets(int slots) => Gen.Frequency(
        (1, Gen.Constant(0)),
        (4, Gen.Choose(1, Math.Min(slots, 8))),
        (1, Gen.Choose(0, slots)),
        (2, Gen.Constant(slots))                                            // full: one packet per slot
    ).SelectMany(n => PacketSize.ArrayOf(n));

    private static readonly Gen<bool> Bool = Gen.Elements(false, true);

    public static readonly Gen<PipeSpec> Pipe =
        from sort in Gen.Frequency((3, Gen.Constant(PipeSort.Anon)), (2, Gen.Constant(PipeSort.Fifo)))
        from direct in sort == PipeSort.Anon ? Gen.Frequency((3, Gen.Constant(false)), (1, Gen.Constant(true))) : Gen.Constant(false)
        from ends in sort == PipeSort.Fifo
            ? Gen.Frequency((3, Gen.Constant(Ends.Both)), (2, Gen.Constant(Ends.RdWr)), (1, Gen.Constant(Ends.Read)), (1, Gen.Constant(Ends.Write)))
            : Gen.Frequency((4, Gen.Constant(Ends.Both)), (1, Gen.Constant(Ends.Read)), (1, Gen.Constant(Ends.Write)))
        from capacity in Capacity
        from length in direct ? Gen.Constant(0) : StreamLength(capacity)
        from packets in direct ? Packets(capacity / PipeSpec.Page).Select(p => (int[]?)p) : Gen.Constant<int[]?>(null)
        from patterned in Bool
        from seed in Gen.Choose(0, int.MaxValue).Select(s => (ulong)s)
        from rnb in Bool
        from wnb in Bool
        from rcx in Bool
        from wcx in Bool
        select new PipeSpec(sort, ends, capacity, length, packets, patterned, seed, rnb, wnb, rcx, wcx);

    public static readonly Gen<PipeStrategy> Strategy = Gen.Elements(PipeStrategy.Tee, PipeStrategy.Drain);

    public static Gen<PipeSet> Set(int minPipes, int maxPipes) =>
        from n in Gen.Choose(minPipes, maxPipes)
        from pipes in Pipe.ArrayOf(n)
        from strategy in Strategy
        select new PipeSet(pipes, strategy);

    /// <summary>1–16 pipes, either strategy.</summary>
    public static Arbitrary<PipeSet> Sets => Arb.From(Set(1, 16), ShrinkSet);

    /// <summary>A full stream pipe with both ends and a blocking write end (anonymous or a FIFO, O_RDWR or two ends).</summary>
    public static readonly Gen<PipeSpec> FullBlockingPipe =
        from sort in Gen.Elements(PipeSort.Anon, PipeSort.Fifo)
        from ends in sort == PipeSort.Fifo ? Gen.Elements(Ends.Both, Ends.RdWr) : Gen.Constant(Ends.Both)
        from capacity in Capacity
        from patterned in Bool
        from seed in Gen.Choose(0, int.MaxValue).Select(s => (ulong)s)
        from rnb in ends == Ends.RdWr ? Gen.Constant(false) : Bool
        from rcx in Bool
        select new PipeSpec(sort, ends, capacity, capacity, null, patterned, seed, rnb, false, rcx, false);

    /// <summary>P5 cases: up to 5 other pipes around one full pipe with a writer blocked on it.</summary>
    public static Arbitrary<BlockedSet> BlockedSets => Arb.From(
        from others in Gen.Choose(0, 5).SelectMany(n => Pipe.ArrayOf(n))
        from blocked in FullBlockingPipe
        from at in Gen.Choose(0, others.Length)
        from extra in Gen.Frequency((1, Gen.Constant(1)), (2, Gen.Choose(1, 8192)), (2, Gen.Choose(1, 256 << 10)))
        from strategy in Strategy
        select new BlockedSet(new PipeSet([.. others.Take(at), blocked, .. others.Skip(at)], strategy), at, extra),
        ShrinkBlocked);

    // ------------------------------------------------------------ shrinking

    public static IEnumerable<PipeSet> ShrinkSet(PipeSet set)
    {
        var pipes = set.Pipes;
        if (pipes.Length > 1)
        {
            yield return set with { Pipes = pipes[..(pipes.Length / 2)] };
            yield return set with { Pipes = pipes[(pipes.Length / 2)..] };
            for (int i = 0; i < pipes.Length; i++) yield return set with { Pipes = [.. pipes[..i], .. pipes[(i + 1)..]] };
        }
        for (int i = 0; i < pipes.Length; i++)
            foreach (var smaller in ShrinkPipe(pipes[i]))
            {
                var copy = (PipeSpec[])pipes.Clone();
                copy[i] = smaller;
                yield return set with { Pipes = copy };
            }
        if (set.Strategy == PipeStrategy.Drain) yield return set with { Strategy = PipeStrategy.Tee };
    }

    public static IEnumerable<PipeSpec> ShrinkPipe(PipeSpec p) => ShrinkCandidates(p).Where(c => c.IsValid && c != p);

    private static IEnumerable<PipeSpec> ShrinkCandidates(PipeSpec p)
    {
        if (p.Direct) yield return p with { Packets = null, Length = 0 };
        if (p.Sort == PipeSort.Fifo && !p.Direct) yield return p with { Sort = PipeSort.Anon, Ends = p.Ends == Ends.RdWr ? Ends.Both : p.Ends };
        if (p.Ends != Ends.Both && p.Ends != Ends.RdWr) yield return p with { Ends = Ends.Both };
        if (p.Ends == Ends.RdWr) yield return p with { Ends = Ends.Both };
        if (p.Direct && p.Packets!.Length > 0)
        {
            yield return p with { Packets = [] };
            yield return p with { Packets = p.Packets[..(p.Packets.Length / 2)] };
            yield return p with { Packets = p.Packets[..^1] };
            yield return p with { Packets = p.Packets[1..] };
            if (p.Packets.Any(s => s > 1)) yield return p with { Packets = [.. p.Packets.Select(_ => 1)] };
        }
        if (!p.Direct && p.Length > 0)
        {
            yield return p with { Length = 0 };
            yield return p with { Length = p.Length / 2 };
            yield return p with { Length = p.Length - 1 };
        }
        if (p.Capacity > PipeSpec.Page)
        {
            int capacity = p.Capacity / 2;
            yield return p with
            {
                Capacity = capacity,
                Length = Math.Min(p.Length, capacity),
                Packets = p.Packets is null ? null : p.Packets[..Math.Min(p.Packets.Length, capacity / PipeSpec.Page)],
            };
            if (capacity > PipeSpec.Page)
                yield return p with { Capacity = PipeSpec.Page, Length = Math.Min(p.Length, PipeSpec.Page), Packets = p.Packets?[..Math.Min(p.Packets.Length, 1)] };
        }
        if (p.Patterned) yield return p with { Patterned = false };
        if (p.ReadNonBlock) yield return p with { ReadNonBlock = false };
        if (p.WriteNonBlock) yield return p with { WriteNonBlock = false };
        if (p.ReadCloexec) yield return p with { ReadCloexec = false };
        if (p.WriteCloexec) yield return p with { WriteCloexec = false };
        if (p.Seed != 0) yield return p with { Seed = 0 };
    }

    public static IEnumerable<BlockedSet> ShrinkBlocked(BlockedSet b)
    {
        var pipes = b.Set.Pipes;
        // Drop the other pipes (never the blocked one).
        for (int i = 0; i < pipes.Length; i++)
            if (i != b.BlockedIndex)
                yield return new BlockedSet(b.Set with { Pipes = [.. pipes[..i], .. pipes[(i + 1)..]] }, i < b.BlockedIndex ? b.BlockedIndex - 1 : b.BlockedIndex, b.Extra);
        if (b.Extra > 1)
        {
            yield return b with { Extra = 1 };
            yield return b with { Extra = b.Extra / 2 };
        }
        var blocked = b.Blocked;
        if (blocked.Capacity > PipeSpec.Page)
        {
            int capacity = blocked.Capacity / 2;
            yield return Replace(b, b.BlockedIndex, blocked with { Capacity = capacity, Length = capacity });
        }
        if (blocked.Sort == PipeSort.Fifo) yield return Replace(b, b.BlockedIndex, blocked with { Sort = PipeSort.Anon, Ends = Ends.Both });
        for (int i = 0; i < pipes.Length; i++)
            if (i != b.BlockedIndex)
                foreach (var smaller in ShrinkPipe(pipes[i])) yield return Replace(b, i, smaller);
        if (b.Set.Strategy == PipeStrategy.Drain) yield return b with { Set = b.Set with { Strategy = PipeStrategy.Tee } };
    }

    private static BlockedSet Replace(BlockedSet b, int index, PipeSpec pipe)
    {
        var copy = (PipeSpec[])b.Set.Pipes.Clone();
        copy[index] = pipe;
        return b with { Set = b.Set with { Pipes = copy } };
    }
}
