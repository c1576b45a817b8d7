namespace Cryo.Format;

/// <summary><c>CRED</c>: user and group ids, supplementary groups, capability sets and securebits of a process.</summary>
public sealed record Credentials(
    uint RealUid, uint EffectiveUid, uint SavedUid, uint FsUid,
    uint RealGid, uint EffectiveGid, uint SavedGid, uint FsGid,
    ulong CapInheritable, ulong CapPermitted, ulong CapEffective, ulong CapBounding, ulong CapAmbient,
    uint SecureBits, uint[] Groups) : CheckpointItem
{
    public static readonly ItemTag TagValue = ItemTag.Parse("CRED");
    public override ItemTag Tag => TagValue;

    public override void Encode(PayloadWriter w)
    {
        w.U32(RealUid); w.U32(EffectiveUid); w.U32(SavedUid); w.U32(FsUid);
        w.U32(RealGid); w.U32(EffectiveGid); w.U32(SavedGid); w.U32(FsGid);
        w.U64(CapInheritable); w.U64(CapPermitted); w.U64(CapEffective); w.U64(CapBounding); w.U64(CapAmbient);
        w.U32(SecureBits);
        w.Count(Groups.Length);
        foreach (uint g in Groups) w.U32(g);
    }

    public static Credentials Decode(ref PayloadReader r)
    {
        uint ruid = r.U32("ruid"), euid = r.U32("euid"), suid = r.U32("suid"), fsuid = r.U32("fsuid");
        uint rgid = r.U32("rgid"), egid = r.U32("egid"), sgid = r.U32("sgid"), fsgid = r.U32("fsgid");
        ulong ci = r.U64("cap_inheritable"), cp = r.U64("cap_permitted"), ce = r.U64("cap_effective"),
              cb = r.U64("cap_bounding"), ca = r.U64("cap_ambient");
        uint securebits = r.U32("securebits");
        var groups = new uint[r.Count("groups", 4)];
        for (int i = 0; i < groups.Length; i++) groups[i] = r.U32("groups");
        return new Credentials(ruid, euid, suid, fsuid, rgid, egid, sgid, fsgid, ci, cp, ce, cb, ca, securebits, groups);
    }

    public override IReadOnlyList<ItemField> Describe() =>
    [
        ItemField.Num("ruid", RealUid), ItemField.Num("euid", EffectiveUid), ItemField.Num("suid", SavedUid), ItemField.Num("fsuid", FsUid),
        ItemField.Num("rgid", RealGid), ItemField.Num("egid", EffectiveGid), ItemField.Num("sgid", SavedGid), ItemField.Num("fsgid", FsGid),
        ItemField.Hex("cap_inheritable", CapInheritable), ItemField.Hex("cap_permitted", CapPermitted),
        ItemField.Hex("cap_effective", CapEffective), ItemField.Hex("cap_bounding", CapBounding), ItemField.Hex("cap_ambient", CapAmbient),
        ItemField.Hex("securebits", SecureBits),
        ItemField.List("groups", Groups.Select(g => (IReadOnlyList<ItemField>)[ItemField.Num("gid", g)]).ToArray()),
    ];
}
