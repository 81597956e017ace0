graph [
  comment "netlab test file: three PoPs in Topology Zoo GML conventions (two share a label)."
  directed 0
  multigraph 1
  Network "Tiny"
  node [
    id 0
    label "Paris"
    Longitude 2.3522
    Latitude 48.8566
  ]
  node [
    id 1
    label "Lyon"
    Longitude 4.8357
    Latitude 45.764
  ]
  node [
    id 2
    label "Paris"
    Longitude 2.2945
    Latitude 48.8584
  ]
  edge [
    source 0
    target 1
    LinkSpeed "10"
    LinkSpeedUnits "G"
    LinkLabel "10G"
  ]
  edge [
    source 1
    target 0
    LinkSpeedRaw 2500000000.0
    LinkLabel "2.5G"
  ]
  edge [
    source 1
    target 2
    LinkSpeedRaw 1000000000.0
  ]
]
