Console.WriteLine("iCrm.DataGen: not implemented yet");
