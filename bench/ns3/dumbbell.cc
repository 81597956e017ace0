// ns-3 (3.37) dumbbell for bench/tcp.py: N bulk TCP flows s_i -> r1 -> (bottleneck) -> r2 -> d_i.
//
// Built on demand by bench/tcp.py (g++ and pkg-config); never a dependency of netlab. The set-up mirrors
// tests/tcp_helpers.py's netlab dumbbell: access links 1 Gbit/s with no delay, a bottleneck r1 -> r2 with its
// own rate, one-way delay, DropTail queue and random packet loss (data direction only), the reverse r2 -> r1
// at the same rate and delay without loss. TCP: IW10, MSS 1460, delayed ACKs (count 2, 200 ms), SACK on,
// timestamps off (netlab has none), window scaling on, MinRto 1 s, receive buffer 1 MiB (netlab's default).
//
// Prints one JSON line: per-flow goodput (payload bytes delivered in [warmup, duration] x 8 / seconds) and the
// bottleneck's utilisation over the same window (IP bytes sent on r1 -> r2, headers and retransmissions
// included, over rate x seconds).
//
// Usage: dumbbell --cc=newreno|cubic --rate=10e6 --delay=0.05 --queue=84 --loss=0 --flows=1
//                 --starts=0,0.25 --duration=40 --warmup=10 --run=1 --recovery=prr|classic

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

using namespace ns3;

static double g_warmup = 10.0;
static uint64_t g_txBytes = 0;  // IP bytes started on the bottleneck after the warm-up

static void
OnPhyTxBegin(Ptr<const Packet> p)
{
    if (Simulator::Now().GetSeconds() >= g_warmup)
    {
        g_txBytes += p->GetSize() - 2;  // less the 2-byte PPP header: netlab counts IP bytes
    }
}

static std::vector<uint64_t> g_atWarmup;

static void
MarkWarmup(std::vector<Ptr<PacketSink>> sinks)
{
    for (size_t i = 0; i < sinks.size(); ++i)
    {
        g_atWarmup[i] = sinks[i]->GetTotalRx();
    }
}

int
main(int argc, char* argv[])
{
    std::string cc = "newreno";
    std::string recovery = "prr";
    std::string starts = "";
    double rate = 10e6;
    double delay = 0.05;
    uint32_t queue = 84;
    double loss = 0.0;
    uint32_t flows = 1;
    double duration = 40.0;
    uint32_t run = 1;

    CommandLine cmd(__FILE__);
    cmd.AddValue("cc", "newreno or cubic", cc);
    cmd.AddValue("recovery", "prr (ns-3's default) or classic (RFC 6675 without PRR)", recovery);
    cmd.AddValue("rate", "bottleneck rate, bit/s", rate);
    cmd.AddValue("delay", "bottleneck one-way delay, s", delay);
    cmd.AddValue("queue", "bottleneck packets in the system, the one on the wire included (as netlab)", queue);
    cmd.AddValue("loss", "random packet loss on r1 -> r2", loss);
    cmd.AddValue("flows", "number of flows", flows);
    cmd.AddValue("starts", "comma-separated start times, s (default all 0)", starts);
    cmd.AddValue("duration", "simulated seconds", duration);
    cmd.AddValue("warmup", "seconds before measuring", g_warmup);
    cmd.AddValue("run", "RNG run number", run);
    cmd.Parse(argc, argv);

    RngSeedManager::SetSeed(1);
    RngSeedManager::SetRun(run);

    if (cc == "newreno")
    {
        Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TcpNewReno::GetTypeId()));
    }
    else if (cc == "cubic")
    {
        Config::SetDefault("ns3::TcpL4Protocol::SocketType", TypeIdValue(TcpCubic::GetTypeId()));
        Config::SetDefault("ns3::TcpCubic::HyStart", BooleanValue(false));  // netlab has no HyStart
    }
    else
    {
        std::fprintf(stderr, "dumbbell: --cc must be newreno or cubic, not %s\n", cc.c_str());
        return 2;
    }
    if (recovery == "classic")
    {
        Config::SetDefault("ns3::TcpL4Protocol::RecoveryType", TypeIdValue(TcpClassicRecovery::GetTypeId()));
    }
    Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(1460));
    Config::SetDefault("ns3::TcpSocket::InitialCwnd", UintegerValue(10));
    Config::SetDefault("ns3::TcpSocket::DelAckCount", UintegerValue(2));
    Config::SetDefault("ns3::TcpSocket::DelAckTimeout", TimeValue(MilliSeconds(200)));
    Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(16 << 20));
    Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(1 << 20));
    Config::SetDefault("ns3::TcpSocketBase::Sack", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::Timestamp", BooleanValue(false));
    Config::SetDefault("ns3::TcpSocketBase::WindowScaling", BooleanValue(true));
    Config::SetDefault("ns3::TcpSocketBase::MinRto", TimeValue(Seconds(1.0)));
    Config::SetDefault("ns3::TcpSocketBase::ClockGranularity", TimeValue(MilliSeconds(1)));

    NodeContainer routers;
    routers.Create(2);
    NodeContainer senders;
    senders.Create(flows);
    NodeContainer receivers;
    receivers.Create(flows);
    InternetStackHelper stack;
    stack.InstallAll();

    PointToPointHelper bottle;
    bottle.SetDeviceAttribute("DataRate", DataRateValue(DataRate(uint64_t(rate))));
    bottle.SetChannelAttribute("Delay", TimeValue(Seconds(delay)));
    // The device queue holds the waiting packets; the one being sent has left it, so netlab's limit minus one.
    std::ostringstream qs;
    qs << (queue > 1 ? queue - 1 : 1) << "p";
    bottle.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(QueueSize(qs.str())));
    NetDeviceContainer core = bottle.Install(routers.Get(0), routers.Get(1));

    PointToPointHelper access;
    access.SetDeviceAttribute("DataRate", DataRateValue(DataRate("1Gbps")));
    access.SetChannelAttribute("Delay", TimeValue(Seconds(0)));
    access.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", QueueSizeValue(QueueSize("100000p")));

    Ipv4AddressHelper addr;
    addr.SetBase("10.0.0.0", "255.255.255.0");
    addr.Assign(core);
    std::vector<Ipv4Address> dst;
    std::vector<NetDeviceContainer> accessDevs;
    for (uint32_t i = 0; i < flows; ++i)
    {
        NetDeviceContainer a = access.Install(senders.Get(i), routers.Get(0));
        NetDeviceContainer b = access.Install(routers.Get(1), receivers.Get(i));
        std::ostringstream na, nb;
        na << "10.1." << i << ".0";
        nb << "10.2." << i << ".0";
        addr.SetBase(na.str().c_str(), "255.255.255.0");
        addr.Assign(a);
        addr.SetBase(nb.str().c_str(), "255.255.255.0");
        Ipv4InterfaceContainer ib = addr.Assign(b);
        dst.push_back(ib.GetAddress(1));
        accessDevs.push_back(a);
        accessDevs.push_back(b);
    }
    // No queue disc anywhere: the device's DropTail queue is the only buffer, as on a netlab link.
    TrafficControlHelper tch;
    tch.Uninstall(core);
    for (auto& d : accessDevs)
    {
        tch.Uninstall(d);
    }
    Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    if (loss > 0)
    {
        Ptr<RateErrorModel> em = CreateObject<RateErrorModel>();
        em->SetAttribute("ErrorUnit", EnumValue(RateErrorModel::ERROR_UNIT_PACKET));
        em->SetAttribute("ErrorRate", DoubleValue(loss));
        core.Get(1)->SetAttribute("ReceiveErrorModel", PointerValue(em));  // r2 receives r1 -> r2 only
    }
    core.Get(0)->TraceConnectWithoutContext("PhyTxBegin", MakeCallback(&OnPhyTxBegin));

    std::vector<double> startAt(flows, 0.0);
    {
        std::stringstream ss(starts);
        std::string item;
        uint32_t i = 0;
        while (std::getline(ss, item, ',') && i < flows)
        {
            if (!item.empty())
            {
                startAt[i] = std::stod(item);
            }
            ++i;
        }
    }
    std::vector<Ptr<PacketSink>> sinks;
    for (uint32_t i = 0; i < flows; ++i)
    {
        PacketSinkHelper sinkHelper("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), 5001));
        ApplicationContainer s = sinkHelper.Install(receivers.Get(i));
        s.Start(Seconds(0));
        sinks.push_back(DynamicCast<PacketSink>(s.Get(0)));
        BulkSendHelper src("ns3::TcpSocketFactory", InetSocketAddress(dst[i], 5001));
        src.SetAttribute("MaxBytes", UintegerValue(0));
        src.SetAttribute("SendSize", UintegerValue(1460));
        ApplicationContainer c = src.Install(senders.Get(i));
        c.Start(Seconds(startAt[i]));
    }
    g_atWarmup.assign(flows, 0);
    Simulator::Schedule(Seconds(g_warmup), &MarkWarmup, sinks);
    Simulator::Stop(Seconds(duration));
    Simulator::Run();

    double seconds = duration - g_warmup;
    std::printf("{\"cc\": \"%s\", \"recovery\": \"%s\", \"flows\": %u, \"goodput_bps\": [", cc.c_str(),
                recovery.c_str(), flows);
    for (uint32_t i = 0; i < flows; ++i)
    {
        double g = 8.0 * double(sinks[i]->GetTotalRx() - g_atWarmup[i]) / seconds;
        std::printf("%s%.1f", i ? ", " : "", g);
    }
    std::printf("], \"utilisation\": %.6f}\n", 8.0 * double(g_txBytes) / (rate * seconds));
    Simulator::Destroy();
    return 0;
}
