using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Cryo.Format;

/// <summary>
/// CRC-32C (Castagnoli), as used by iSCSI and ext4: reflected polynomial 0x82F63B78, initial value
/// 0xFFFFFFFF, final XOR 0xFFFFFFFF. <c>Crc32C.Compute("123456789")</c> is 0xE3069283.
/// System.IO.Hashing has no CRC-32C, so this uses the BCL's <see cref="BitOperations.Crc32C(uint, ulong)"/>
/// (the SSE4.2 instruction where present) and runs three independent chains over large inputs so
/// the instruction's latency is hidden; the chains are joined with precomputed shift tables.
/// </summary>
public struct Crc32C
{
    private uint _state = 0xFFFFFFFFu;

    public Crc32C() { }

    public readonly uint Current => _state ^ 0xFFFFFFFFu;

    public void Append(ReadOnlySpan<byte> data) => _state = Update(_state, data);

    public static uint Compute(ReadOnlySpan<byte> data) => Update(0xFFFFFFFFu, data) ^ 0xFFFFFFFFu;

    // Lane length of the three-way split; a multiple of 8.
    private const int Lane = 8192;
    private static readonly uint[] ShiftByLane = BuildShiftTable(Lane);
    private static readonly uint[] ShiftByTwoLanes = BuildShiftTable(2 * Lane);

    private static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        const int words = Lane / 8;
        while (data.Length >= 3 * Lane)
        {
            uint a = crc, b = 0, c = 0;
            // One reference and fixed offsets: no bounds checks in the hot loop (the length was checked above).
            ref ulong lanes = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, ulong>(data[..(3 * Lane)]));
            for (int i = 0; i < words; i++)
            {
                a = BitOperations.Crc32C(a, Unsafe.Add(ref lanes, i));
                b = BitOperations.Crc32C(b, Unsafe.Add(ref lanes, words + i));
                c = BitOperations.Crc32C(c, Unsafe.Add(ref lanes, 2 * words + i));
            }
            // The register is linear in its input: running k zero bytes through it is a fixed
            // linear map, which the tables apply in four lookups.
            crc = Shift(ShiftByTwoLanes, a) ^ Shift(ShiftByLane, b) ^ c;
            data = data[(3 * Lane)..];
        }
        while (data.Length >= 8)
        {
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }
        foreach (byte b in data)
            crc = BitOperations.Crc32C(crc, b);
        return crc;
    }

    private static uint Shift(uint[] table, uint crc) =>
        table[crc & 0xFF] ^ table[256 + ((crc >> 8) & 0xFF)] ^ table[512 + ((crc >> 16) & 0xFF)] ^ table[768 + (crc >> 24)];

    private static uint[] BuildShiftTable(int zeroBytes)
    {
        var table = new uint[1024];
        for (int octet = 0; octet < 4; octet++)
        {
            for (uint value = 0; value < 256; value++)
            {
                uint crc = value << (8 * octet);
                for (int i = 0; i < zeroBytes / 8; i++)
                    crc = BitOperations.Crc32C(crc, 0UL);
                table[octet * 256 + value] = crc;
            }
        }
        return table;
    }
}
