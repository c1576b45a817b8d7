using System.Text.Json;
using CliWrap;
using CliWrap.Buffered;
using Cryo.Check;
using Cryo.Cli;
using Cryo.Interop;
using Cryo.Tracing;
using Xunit;
using Xunit.Abstractions;

namespace Cryo.Tests.Engine;

/// <summary>Runs every real probe once for the tests of this class.</summary>
public sealed class CheckResults
{
    internal IReadOnlyList<ProbeResult> Results { get; } = Probes.RunAll();

    internal ProbeResult this[string name] => Results.Single(r => r.Name == name);
}

/// <summary>`cryo check`: the real probes on this kernel (6.18), the JSON schema, the exit code, the rseq fallback.</summary>
public sealed class CheckTests(CheckResults check, ITestOutputHelper output) : IClassFixture<CheckResults>
{
    [Fact]
    public void Check_EveryNeededProbeIsOkOnThisKernel()
    {
        foreach (var r in check.Results) output.WriteLine($"{r.Name,-24} {r.StatusText,-8} {r.Detail}");
        Assert.All(check.Results.Where(r => r.Needed), r => Assert.True(r.Status == ProbeStatus.Ok, $"{r.Name}: {r.StatusText}: {r.Detail}"));
        Assert.Equal(Probes.All.Select(p => p.Name), check.Results.Select(r => r.Name));
        Assert.Equal(check.Results.Count, check.Results.Select(r => r.Name).Distinct().Count());
    }

    [Theory]
    // What 6.18 has (all since 6.7 or earlier): every one of these must be ok here.
    [InlineData("ptrace-seize")]
    [InlineData("syscall-injection")]
    [InlineData("ptrace-rseq-config")]   // 5.13+
    [InlineData("process_vm_readv")]
    [InlineData("process_vm_writev")]
    [InlineData("proc-pid-mem")]
    [InlineData("pagemap")]
    [InlineData("vdso-layout")]
    [InlineData("pidfd_open")]           // 5.3+
    [InlineData("pidfd_getfd")]          // 5.6+
    [InlineData("kcmp")]
    [InlineData("clone3-set-tid")]       // 5.5+
    [InlineData("prctl-mm-map")]
    [InlineData("pipe-fionread")]
    [InlineData("pipe-size")]
    [InlineData("pipe-tee")]
    [InlineData("pipe-packet-mode")]
    [InlineData("pipe-max-size")]
    [InlineData("pagemap-scan")]         // 6.7+
    [InlineData("pagemap-scan.present")]
    [InlineData("pagemap-scan.file")]
    [InlineData("pagemap-scan.pfnzero")]
    [InlineData("pagemap-scan.written")]
    [InlineData("pagemap-scan.wpallowed")]
    [InlineData("pagemap-scan.swapped")]
    [InlineData("pagemap-scan.huge")]
    [InlineData("pagemap-scan.guard")]   // 6.14+
    [InlineData("uffd-wp-async")]        // 6.7+
    [InlineData("memfd_create")]
    [InlineData("unix_diag")]
    [InlineData("membarrier-registrations")] // 6.3+
    [InlineData("seccomp-filters")]
    [InlineData("inet_diag")]
    public void Check_ProbeIsOkOn618(string name)
    {
        var r = check[name];
        Assert.True(r.Status == ProbeStatus.Ok, $"{name}: {r.StatusText}: {r.Detail}");
    }

    [Fact]
    public void Check_VdsoLayoutIsThe618One()
    {
        // 6.18 (and 7.x) put [vvar_vclock] between [vvar] and [vdso]; 5.10-6.12 do not have it.
        Assert.StartsWith("[vvar] 0x4000, [vvar_vclock] 0x2000, [vdso] 0x2000", check["vdso-layout"].Detail);
        Assert.Contains("in the mmap area", check["vdso-layout"].Detail);
    }

    [Fact]
    public void Check_SoftDirtyAgreesWithThePagemapScanCategory()
    {
        // CONFIG_MEM_SOFT_DIRTY is a build option (this machine's kernel lacks it, Debian's has it):
        // the pagemap bit and the PAGEMAP_SCAN category must tell the same story.
        bool bit = check["soft-dirty"].Status == ProbeStatus.Ok;
        bool category = check["pagemap-scan.soft-dirty"].Status == ProbeStatus.Ok;
        Assert.Equal(bit, category);
    }

    [Theory]
    [InlineData("cap.sys_ptrace", CapabilityProbes.CAP_SYS_PTRACE)]
    [InlineData("cap.sys_admin", CapabilityProbes.CAP_SYS_ADMIN)]
    [InlineData("cap.sys_resource", CapabilityProbes.CAP_SYS_RESOURCE)]
    [InlineData("cap.checkpoint_restore", CapabilityProbes.CAP_CHECKPOINT_RESTORE)]
    public void Check_CapabilitiesMatchProcStatus(string name, int capability)
    {
        var status = File.ReadAllLines("/proc/self/status");
        ulong Mask(string key) => Convert.ToUInt64(status.Single(l => l.StartsWith(key)).Split(':')[1].Trim(), 16);
        bool effective = (Mask("CapEff:") >> capability & 1) != 0, bounding = (Mask("CapBnd:") >> capability & 1) != 0;
        var expected = effective ? ProbeStatus.Ok : bounding ? ProbeStatus.Degraded : ProbeStatus.Missing;
        Assert.Equal(expected, check[name].Status);
    }

    [Fact]
    public void Json_FollowsTheDocumentedSchema()
    {
        var report = new CheckReport(check.Results, Native.KernelRelease());
        using var document = JsonDocument.Parse(report.Json(KernelFeatures.FromResults(check.Results)));
        var root = document.RootElement;
        Assert.Equal(["schema", "kernel", "machine", "ok", "exitCode", "missingNeeded", "unavailable", "limited", "probes", "features"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("cryo-check/1", root.GetProperty("schema").GetString());
        Assert.Equal(Native.KernelRelease(), root.GetProperty("kernel").GetString());
        Assert.Equal("x64", root.GetProperty("machine").GetString());
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.Equal(0, root.GetProperty("exitCode").GetInt32());
        Assert.Empty(root.GetProperty("missingNeeded").EnumerateArray());
        foreach (var name in new[] { "unavailable", "limited" })
            Assert.All(root.GetProperty(name).EnumerateArray(), e => Assert.Equal(JsonValueKind.String, e.ValueKind));
        var probes = root.GetProperty("probes").EnumerateArray().ToList();
        Assert.Equal(Probes.All.Count, probes.Count);
        foreach (var probe in probes)
        {
            Assert.Equal(["name", "status", "needed", "detail", "affects", "elapsedMs"], probe.EnumerateObject().Select(p => p.Name));
            Assert.Contains(probe.GetProperty("status").GetString(), new[] { "ok", "missing", "degraded" });
            Assert.True(probe.GetProperty("needed").ValueKind is JsonValueKind.True or JsonValueKind.False);
            Assert.False(string.IsNullOrEmpty(probe.GetProperty("detail").GetString()));
            Assert.NotEmpty(probe.GetProperty("affects").EnumerateArray());
            Assert.True(probe.GetProperty("elapsedMs").GetDouble() >= 0);
        }
        var features = root.GetProperty("features");
        Assert.Equal(["rseqConfiguration", "pidfdGetfd", "clone3SetTid", "pipeTee", "processVmWritev", "uffdCopy", "pagemapScan", "uffdWpAsync",
            "softDirty", "vdsoLayout", "pipeMaxSize"], features.EnumerateObject().Select(p => p.Name));
        Assert.True(features.GetProperty("rseqConfiguration").GetBoolean());
        Assert.True(features.GetProperty("pidfdGetfd").GetBoolean());
        Assert.Equal(long.Parse(File.ReadAllText("/proc/sys/fs/pipe-max-size")), features.GetProperty("pipeMaxSize").GetInt64());
    }

    [Fact]
    public void Table_HasAlignedColumns()
    {
        var lines = new CheckReport(check.Results, Native.KernelRelease()).Table().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("kernel ", lines[0]);
        int status = lines[1].IndexOf("status"), detail = lines[1].IndexOf("detail"), affects = lines[1].IndexOf("affects");
        Assert.True(status > 0 && detail > status && affects > detail);
        foreach (var line in lines.Skip(2))
        {
            Assert.Equal(' ', line[status - 1]);
            Assert.Matches("^(ok|missing|degraded) ", line[status..]);
            Assert.Equal(' ', line[affects - 1]);
        }
    }

    [Fact]
    public async Task Cli_CheckJson_ExitsZeroHere()
    {
        string cryo = typeof(Cryo.Program).Assembly.Location;
        var result = await CliWrap.Cli.Wrap("dotnet").WithArguments([cryo, "check", "--json"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        output.WriteLine(result.StandardError);
        Assert.Equal(0, result.ExitCode);
        using var document = JsonDocument.Parse(result.StandardOutput);
        Assert.True(document.RootElement.GetProperty("ok").GetBoolean());
        Assert.Contains("everything cryo needs is there", result.StandardError);

        var table = await CliWrap.Cli.Wrap("dotnet").WithArguments([cryo, "check"])
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("pidfd_getfd", table.StandardOutput);
    }

    [Fact]
    public void Execute_ANeededProbeMissing_ExitsOneNamingItAndWhatIsLost()
    {
        // Real probes, except clone3-set-tid, whose result is faked as a kernel without it (5.4) would give.
        var probes = Probes.All.Where(p => p.Name is "pipe-fionread" or "pipe-tee" or "vdso-layout").ToList();
        var real = Probes.All.Single(p => p.Name == "clone3-set-tid");
        probes.Add(real with { Test = () => ProbeOutcome.Missing("clone3: ENOSYS (faked)") });
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var before = KernelFeatures.Current;
        try
        {
            int code = CheckCommand.Execute(probes, json: true, stdout, stderr);
            Assert.Equal(1, code);
            Assert.Contains("missing what cryo needs: clone3-set-tid", stderr.ToString());
            Assert.Contains("pid restore", stderr.ToString());
            using var document = JsonDocument.Parse(stdout.ToString());
            Assert.False(document.RootElement.GetProperty("ok").GetBoolean());
            Assert.Equal(1, document.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Equal(["clone3-set-tid"], document.RootElement.GetProperty("missingNeeded").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains("pid restore", document.RootElement.GetProperty("unavailable").EnumerateArray().Select(e => e.GetString()));
            Assert.False(KernelFeatures.Current.Clone3SetTid);
        }
        finally
        {
            KernelFeatures.Learn(before);
        }
    }

    /// <summary>
    /// CRYO_ASSUME_MISSING (for testing fallbacks on a kernel that has the feature): the named probes
    /// are reported missing without being run, the features the engine goes by say false, a name
    /// that is no probe is warned about. pidfd_getfd has a fallback now, so cryo check still exits 0.
    /// </summary>
    [Fact]
    public async Task Cli_AssumeMissing_ReportsTheProbesMissing()
    {
        string cryo = typeof(Cryo.Program).Assembly.Location;
        var result = await CliWrap.Cli.Wrap("dotnet").WithArguments([cryo, "check", "--json"])
            .WithEnvironmentVariables(e => e.Set(KernelFeatures.AssumeMissingVariable, "pidfd_getfd, ptrace-rseq-config,no-such-probe"))
            .WithValidation(CommandResultValidation.None).ExecuteBufferedAsync();
        output.WriteLine(result.StandardError);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("CRYO_ASSUME_MISSING names 'no-such-probe', which is no probe of cryo check", result.StandardError);
        using var document = JsonDocument.Parse(result.StandardOutput);
        var root = document.RootElement;
        Assert.True(root.GetProperty("ok").GetBoolean());
        var probes = root.GetProperty("probes").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        foreach (string name in new[] { "pidfd_getfd", "ptrace-rseq-config" })
        {
            Assert.Equal("missing", probes[name].GetProperty("status").GetString());
            Assert.False(probes[name].GetProperty("needed").GetBoolean());
            Assert.Contains("(assumed by CRYO_ASSUME_MISSING)", probes[name].GetProperty("detail").GetString());
        }
        Assert.Equal("ok", probes["pidfd_open"].GetProperty("status").GetString());
        Assert.Contains("file descriptions shared across processes (restore; reopened apart)",
            root.GetProperty("unavailable").EnumerateArray().Select(e => e.GetString()));
        Assert.False(root.GetProperty("features").GetProperty("pidfdGetfd").GetBoolean());
        Assert.False(root.GetProperty("features").GetProperty("rseqConfiguration").GetBoolean());
        Assert.True(root.GetProperty("features").GetProperty("clone3SetTid").GetBoolean());
    }

    [Fact]
    public void Report_AnOptionalProbeMissing_StillExitsZero_ADegradedNeededOneToo()
    {
        var results = new List<ProbeResult>
        {
            new("pipe-fionread", ProbeStatus.Ok, true, "fine", ["pipe contents (checkpoint)"]),
            new("ptrace-rseq-config", ProbeStatus.Degraded, false, "EIO; fallback works", ["rseq registration (checkpoint and stub)"]),
            new("pagemap-scan", ProbeStatus.Missing, false, "ENOTTY", ["sparse memory scan (planned)"]),
            new("pipe-size", ProbeStatus.Degraded, true, "F_SETPIPE_SZ refused", ["pipe restore"]),
        };
        var report = new CheckReport(results, "5.10.0-test");
        Assert.Equal(0, report.ExitCode);
        Assert.Equal(["sparse memory scan (planned)"], report.Unavailable);
        Assert.Equal(["rseq registration (checkpoint and stub)", "pipe restore"], report.Limited);
        var missing = new CheckReport([.. results, new("clone3-set-tid", ProbeStatus.Missing, true, "ENOSYS", ["pid restore", "restore"])], "5.4");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("clone3-set-tid", missing.Verdict());
    }

    [Fact]
    public void Probe_ThatThrows_IsReportedMissingNotThrown()
    {
        var result = new Probe("boom", true, ["checkpoint"], () => throw new SysCallException("pidfd_getfd", ErrnoNames.ENOSYS, "test")).Run();
        Assert.Equal(ProbeStatus.Missing, result.Status);
        Assert.Contains("ENOSYS", result.Detail);
    }

    [Fact]
    public void Features_CheapOnesNeedNoHelper()
    {
        var cheap = KernelFeatures.Cheap();
        Assert.True(cheap.PipeTee);
        Assert.True(cheap.PagemapScan);
        Assert.StartsWith("[vvar] 0x4000", cheap.VdsoLayout);
        Assert.Null(cheap.RseqConfiguration); // needs a tracee: learned on first use or from `cryo check`
    }

    /// <summary>
    /// The rseq fallback of kernels without PTRACE_GET_RSEQ_CONFIGURATION (5.10), checked where both
    /// ways work: fs_base + glibc's __rseq_offset must find exactly what the kernel reports.
    /// </summary>
    [Fact]
    public void RseqFallback_FindsWhatTheKernelReports()
    {
        using var target = ProbeTarget.Start();
        using var tracer = new Tracer("test-tracer");
        tracer.Seize(target.Pid);
        tracer.Interrupt(target.Pid);
        var kernel = tracer.GetRseqConfiguration(target.Pid);
        var glibc = RseqAccess.FromGlibc(tracer, target.Pid, target.Pid);
        Assert.True(kernel.Registered);
        Assert.Equal(kernel.AbiPointer, glibc.AbiPointer);
        Assert.Equal(kernel.AbiSize, glibc.AbiSize);
        Assert.Equal(kernel.Signature, glibc.Signature);

        // The engine's entry point takes the fallback when the probes say the request is missing.
        var before = KernelFeatures.Current;
        try
        {
            KernelFeatures.Learn(before with { RseqConfiguration = false });
            Assert.Equal(glibc, RseqAccess.Read(tracer, target.Pid, target.Pid));
        }
        finally
        {
            KernelFeatures.Learn(before);
        }
        tracer.Detach(target.Pid);
    }

    [Fact]
    public void RseqFallback_ReportsNoRegistrationWhenGlibcMadeNone()
    {
        // GLIBC_TUNABLES=glibc.pthread.rseq=0: glibc does not register, __rseq_size is 0.
        int pid = PosixSpawn.Spawn("/bin/sleep", ["/bin/sleep", "infinity"], ["GLIBC_TUNABLES=glibc.pthread.rseq=0"], "/dev/null", false);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.ReadAllText($"/proc/{pid}/syscall").StartsWith("34 ") && DateTime.UtcNow < deadline) Thread.Sleep(1);
            using var tracer = new Tracer("test-tracer");
            tracer.Seize(pid);
            tracer.Interrupt(pid);
            Assert.False(tracer.GetRseqConfiguration(pid).Registered);
            Assert.False(RseqAccess.FromGlibc(tracer, pid, pid).Registered);
            tracer.Kill(pid);
        }
        finally
        {
            if (Native.WaitPid(pid, out _, Native.WNOHANG | Native.WALL) == 0)
            {
                Native.Kill(pid, Signals.SIGKILL);
                Native.WaitPid(pid, out _, Native.WALL);
            }
        }
    }
}
