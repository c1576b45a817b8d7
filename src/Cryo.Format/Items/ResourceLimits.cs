namespace Cryo.Format;

/// <summary>One resource limit; <see cref="ResourceLimits.Infinity"/> stands for RLIM_INFINITY.</summary>
public readonly record struct ResourceLimit(uint Resource, ulong Soft, ulong Hard);

/// <summary><c>RLIM</c>: the process's resource limits (RLIMIT_* numbers as on Linux x86-64).</summary>
public sealed record ResourceLimits(ResourceLimit[] Limits) : CheckpointItem
{
    public const ulong Infinity = ulong.MaxValue;
    public static readonly ItemTag TagValue = ItemTag.Parse("RLIM");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.Count(Limits.Length);
        foreach (var l in Limits) { w.U32(l.Resource); w.U64(l.Soft); w.U64(l.Hard); }
    }

    public static ResourceLimits Decode(ref PayloadReader r)
    {
        var limits = new ResourceLimit[r.Count("limits", 20)];
        for (int i = 0; i < limits.Length; i++)
            limits[i] = new ResourceLimit(r.U32("resource"), r.U64("soft"), r.U64("hard"));
        return new ResourceLimits(limits);
    }

    /// <summary>RLIMIT_NPROC and RLIMIT_SIGPENDING: their defaults are derived from the machine's memory (max_threads / 2).</summary>
    private static bool DependsOnMachine(uint resource) => resource is 6 or 11;

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.List("limits", Limits.Select(l => (IReadOnlyList<ItemField>)
            [ItemField.Num("resource", l.Resource),
             DependsOnMachine(l.Resource) ? ItemField.Vol("soft", l.Soft) : ItemField.Num("soft", l.Soft),
             DependsOnMachine(l.Resource) ? ItemField.Vol("hard", l.Hard) : ItemField.Num("hard", l.Hard)]).ToArray()),
    ];
}
