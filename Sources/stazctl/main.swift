import Foundation
import StazCtl

exit(await StazCtlMain.main())
